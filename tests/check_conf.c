/*
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
#include "config.h"

#include "conf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "err.h"
#include "log.h"

#define NELEM(a) ((int)(sizeof(a) / sizeof((a)[0])))
#define ERRLEN   256

/* A line that applies cleanly, and a line conf_dump then prints. */
static const struct {
	const char *line;
	const char *dump;
} line_ok[] = {
	{ "ListenAddress 127.0.0.1:8022", "listenaddress 127.0.0.1:8022" },
	{ "ListenAddress 127.0.0.1", "listenaddress 127.0.0.1:2222" },
	{ "ListenAddress 127.0.0.1:0", "listenaddress 127.0.0.1:0" },
	{ "ListenAddress [::1]:0", "listenaddress [::1]:0" },
	{ "ListenAddress [2001:db8::1]:22", "listenaddress [2001:db8::1]:22" },
	{ "ListenAddress ::1", "listenaddress [::1]:2222" },
	{ "ListenAddress [::]", "listenaddress [::]:2222" },
	{ "ListenAddress 0.0.0.0:65535", "listenaddress 0.0.0.0:65535" },
	{ "ListenAddress=10.0.0.1:22", "listenaddress 10.0.0.1:22" },
	{ "ListenAddress = 10.0.0.2:22", "listenaddress 10.0.0.2:22" },
	{ "  LISTENADDRESS\t192.0.2.1:1  # comment",
	    "listenaddress 192.0.2.1:1" },
	{ "listenaddress \"127.0.0.1:9\"\r\n", "listenaddress 127.0.0.1:9" },
	{ "StateDirectory /srv/porthole", "statedirectory /srv/porthole" },
	{ "StateDirectory \"/srv/my state\"",
	    "statedirectory \"/srv/my state\"" },
	{ "StateDirectory \"#odd\"", "statedirectory \"#odd\"" },
	{ "Database /tmp/x.db", "database /tmp/x.db" },
	{ "database=relative.db", "database relative.db" },
	{ "HostKey /etc/porthole/key", "hostkey /etc/porthole/key" },
	{ "PublicHost tunnel.example.com", "publichost tunnel.example.com" },
	{ "PublicHost localhost", "publichost localhost" },
	{ "PublicHost a-b.C0.example", "publichost a-b.C0.example" },
	{ "PublicHost 1a.example", "publichost 1a.example" },
	{ "PublicHost 192.0.2.7", "publichost 192.0.2.7" },
	{ "PublicHost 2001:db8::7", "publichost 2001:db8::7" },
	{ "TunnelAddress 127.0.0.1", "tunneladdress 127.0.0.1" },
	{ "TunnelAddress ::", "tunneladdress ::" },
	{ "PortRange 20000-20010", "portrange 20000-20010" },
	{ "PortRange 1-65535", "portrange 1-65535" },
	{ "PortRange 5000", "portrange 5000-5000" },
	{ "PortRange 7-7", "portrange 7-7" },
	{ "LoginGraceTime 1h30m", "logingracetime 5400" },
	{ "LoginGraceTime 45", "logingracetime 45" },
	{ "LoginGraceTime 0", "logingracetime 0" },
	{ "MaxEndpointsPerSession 1", "maxendpointspersession 1" },
	{ "MaxEndpointsPerSession 1000", "maxendpointspersession 1000" },
	{ "MaxConnectionsPerEndpoint 1", "maxconnectionsperendpoint 1" },
	{ "MaxConnectionsPerEndpoint 65535",
	    "maxconnectionsperendpoint 65535" },
	{ "LogLevel QUIET", "loglevel QUIET" },
	{ "loglevel verbose", "loglevel VERBOSE" },
	{ "LogLevel debug3", "loglevel DEBUG3" },
	{ "SyslogFacility AUTH", "syslogfacility DAEMON" },
	{ "SyslogFacility daemon", "syslogfacility DAEMON" },
	{ "SyslogFacility local7", "syslogfacility DAEMON" },
	{ "SyslogFacility LOCAL0", "syslogfacility DAEMON" },
	{ "SyslogFacility none", "syslogfacility none" },
	{ "SyslogFacility NONE", "syslogfacility none" },
	{ "AllowAnonymous yes", "allowanonymous yes" },
	{ "AllowAnonymous no", "allowanonymous no" },
	{ "allowanonymous YES", "allowanonymous yes" },
	{ "AllowAnonymous=No", "allowanonymous no" },
	{ "AddressAffinity 24h", "addressaffinity 86400" },
	{ "AddressAffinity 0", "addressaffinity 0" },
	{ "AddressAffinity 90", "addressaffinity 90" },
	{ "AddressAffinity 1h30m", "addressaffinity 5400" },
	{ "AddressAffinity 2w", "addressaffinity 1209600" },
	{ "addressaffinity=15M", "addressaffinity 900" },
	{ "MaxSessionsPerAccount 1", "maxsessionsperaccount 1" },
	{ "MaxSessionsPerAccount 100000", "maxsessionsperaccount 100000" },
	{ "maxsessionsperaccount=25", "maxsessionsperaccount 25" },
	{ "TokenKey /etc/porthole/token.key",
	    "tokenkey /etc/porthole/token.key" },
	{ "tokenkey relative.key", "tokenkey relative.key" },
	{ "TokenKey \"/srv/my keys/t.key\"",
	    "tokenkey \"/srv/my keys/t.key\"" },
	{ "EventLog /var/log/porthole/events.log",
	    "eventlog /var/log/porthole/events.log" },
	{ "EventLog -", "eventlog -" },
	/* Found by fuzz_conf: a leading '=' must survive the dump. */
	{ "StateDirectory ==x", "statedirectory = =x" },
	{ "EventLog none", "eventlog none" },
	{ "EventRetention 30d", "eventretention 2592000" },
	{ "EventRetention 0", "eventretention 0" },
	{ "EventMaxCount 0", "eventmaxcount 0" },
	{ "EventMaxCount 1", "eventmaxcount 1" },
	{ "eventmaxcount=5000", "eventmaxcount 5000" },
	{ "EventMaxCount 1000000000000", "eventmaxcount 1000000000000" },
	{ "SessionRetention 30d", "sessionretention 2592000" },
	{ "SessionRetention 0", "sessionretention 0" },
	{ "sessionretention=2w", "sessionretention 1209600" },
	{ "WebhookBatchSize 1", "webhookbatchsize 1" },
	{ "WebhookBatchSize 1000", "webhookbatchsize 1000" },
	{ "WebhookTimeout 1", "webhooktimeout 1" },
	{ "WebhookTimeout 5m", "webhooktimeout 300" },
	/* Traffic limits: bytes and seconds in the dump, or none. */
	{ "BandwidthLimit 5M", "bandwidthlimit 5242880" },
	{ "BandwidthLimit 1500", "bandwidthlimit 1500" },
	{ "bandwidthlimit=2k", "bandwidthlimit 2048" },
	{ "BandwidthLimit 1T", "bandwidthlimit 1099511627776" },
	{ "BandwidthLimit none", "bandwidthlimit none" },
	{ "BandwidthLimit NONE", "bandwidthlimit none" },
	{ "TransferQuota 10G/30d", "transferquota 10737418240/2592000" },
	{ "TransferQuota 1/1h", "transferquota 1/3600" },
	{ "TransferQuota 5m/366d", "transferquota 5242880/31622400" },
	{ "TransferQuota 100/90m", "transferquota 100/5400" },
	{ "TransferQuota none", "transferquota none" },
	{ "ConnectionRateLimit 60", "connectionratelimit 60" },
	{ "ConnectionRateLimit 1000000", "connectionratelimit 1000000" },
	{ "ConnectionRateLimit none", "connectionratelimit none" },
	{ "MaxConnectionsPerSource 1", "maxconnectionspersource 1" },
	{ "MaxConnectionsPerSource none", "maxconnectionspersource none" },
	{ "ConnectionIdleTimeout 5m", "connectionidletimeout 300" },
	{ "ConnectionIdleTimeout 1", "connectionidletimeout 1" },
	{ "ConnectionIdleTimeout none", "connectionidletimeout none" },
	{ "MetricsAccountLabels yes", "metricsaccountlabels yes" },
	{ "MetricsAccountLabels NO", "metricsaccountlabels no" },
	{ "MetricsListen 127.0.0.1:9100", "metricslisten 127.0.0.1:9100" },
	{ "MetricsListen [::1]:9100", "metricslisten [::1]:9100" },
	{ "MetricsListen none", "metricslisten none" },
	{ "ApiListen 127.0.0.1:8443", "apilisten 127.0.0.1:8443" },
	{ "ApiListen [::1]:8443", "apilisten [::1]:8443" },
	{ "ApiListen none", "apilisten none" },
	{ "ApiMaxConnections 5", "apimaxconnections 5" },
	{ "ApiMaxConnectionsPerSource 4", "apimaxconnectionspersource 4" },
	{ "ApiMaxConnectionsPerSource none",
	    "apimaxconnectionspersource none" },
	{ "ApiMaxBodySize 2M", "apimaxbodysize 2097152" },
	{ "ApiMaxBodySize 4096", "apimaxbodysize 4096" },
	{ "ApiMaxHeaderSize 8k", "apimaxheadersize 8192" },
	{ "ApiRequestTimeout 2m", "apirequesttimeout 120" },
	{ "ApiBaseURL https://t.example/api/",
	    "apibaseurl https://t.example/api" },
	{ "ApiBaseURL none", "apibaseurl none" },
	{ "MaxStartups 50", "maxstartups 50" },
	{ "MaxStartups 5:50:20", "maxstartups 5:50:20" },
	{ "PerSourceMaxStartups none", "persourcemaxstartups none" },
	{ "PerSourceMaxStartups 3", "persourcemaxstartups 3" },
	{ "MaxAuthTries 2", "maxauthtries 2" },
	{ "ClientAliveInterval 1m", "clientaliveinterval 60" },
	{ "ClientAliveInterval 0", "clientaliveinterval 0" },
	{ "ClientAliveCountMax 5", "clientalivecountmax 5" },
	{ "PerSourcePenalties no", "persourcepenalties no" },
	{ "PerSourcePenalties authfail:5s,max:1h",
	    "persourcepenalties authfail:5,noauth:0,grace-exceeded:10,crash:90,"
	    "min:15,max:3600" },
	{ "PerSourcePenalties crash:5m",
	    "persourcepenalties authfail:2,noauth:0,grace-exceeded:10,"
	    "crash:300,min:15,max:600" },
	{ "User porthole", "user porthole" },
	{ "MaxSessions 1", "maxsessions 1" },
	{ "maxsessions=5000", "maxsessions 5000" },
};

/* Lines that change nothing. */
static const char *const line_noop[] = {
	"",
	"   ",
	"\t\r\n",
	"#",
	"# ListenAddress 1.2.3.4:5",
	"   # PortRange 1-2",
	"\t#LogLevel DEBUG",
};

/* A line that must fail, and the exact reason. */
static const struct {
	const char *line;
	const char *err;
} line_bad[] = {
	{ "Foo bar", "unknown keyword 'Foo'" },
	{ "MaxSessions 0", "MaxSessions: '0' is not in 1..100000" },
	{ "MaxSessions many", "MaxSessions: 'many' is not in 1..100000" },
	{ "ListenAddres 1.2.3.4", "unknown keyword 'ListenAddres'" },
	{ "AllowAnonymously yes", "unknown keyword 'AllowAnonymously'" },
	{ "Bad\001Key 1", "unknown keyword 'Bad\\001Key'" },
	{ "=value", "missing keyword" },
	{ "  = value", "missing keyword" },
	{ "ListenAddress", "ListenAddress: missing value" },
	{ "listenaddress   ", "ListenAddress: missing value" },
	{ "ListenAddress=", "ListenAddress: missing value" },
	{ "ListenAddress # comment", "ListenAddress: missing value" },
	{ "ListenAddress 1.2.3.4 5.6.7.8",
	    "ListenAddress: extra argument '5.6.7.8'" },
	{ "ListenAddress \"1.2.3.4", "ListenAddress: unbalanced quote" },
	{ "ListenAddress 1.2.3.4 \"x", "ListenAddress: unbalanced quote" },
	{ "ListenAddress \"1.2.3.4\"x", "ListenAddress: unbalanced quote" },
	{ "ListenAddress \"\"", "ListenAddress: empty value" },
	{ "ListenAddress localhost:22",
	    "ListenAddress: 'localhost:22' is not a numeric IP address" },
	{ "ListenAddress 1.2.3:22",
	    "ListenAddress: '1.2.3:22' is not a numeric IP address" },
	{ "ListenAddress 1.2.3.4:65536",
	    "ListenAddress: bad address '1.2.3.4:65536'" },
	{ "ListenAddress 1.2.3.4:", "ListenAddress: bad address '1.2.3.4:'" },
	{ "ListenAddress :22", "ListenAddress: bad address ':22'" },
	{ "ListenAddress 1.2.3.4:-1",
	    "ListenAddress: bad address '1.2.3.4:-1'" },
	{ "ListenAddress 1.2.3.4:+22",
	    "ListenAddress: bad address '1.2.3.4:+22'" },
	{ "ListenAddress 1.2.3.4:0x16",
	    "ListenAddress: bad address '1.2.3.4:0x16'" },
	{ "ListenAddress [::1", "ListenAddress: bad address '[::1'" },
	{ "ListenAddress [::1]22", "ListenAddress: bad address '[::1]22'" },
	{ "ListenAddress []:22", "ListenAddress: bad address '[]:22'" },
	{ "StateDirectory \"\"", "StateDirectory: empty value" },
	{ "StateDirectory \"/a b", "StateDirectory: unbalanced quote" },
	{ "StateDirectory /a /b", "StateDirectory: extra argument '/b'" },
	{ "Database", "Database: missing value" },
	{ "HostKey", "HostKey: missing value" },
	{ "PublicHost bad_host", "PublicHost: bad host name 'bad_host'" },
	{ "PublicHost -a.example", "PublicHost: bad host name '-a.example'" },
	{ "PublicHost a-.example", "PublicHost: bad host name 'a-.example'" },
	{ "PublicHost a..example", "PublicHost: bad host name 'a..example'" },
	{ "PublicHost .example", "PublicHost: bad host name '.example'" },
	{ "PublicHost example.", "PublicHost: bad host name 'example.'" },
	{ "PublicHost 300.1.1.1", "PublicHost: bad host name '300.1.1.1'" },
	{ "PublicHost 1234", "PublicHost: bad host name '1234'" },
	{ "PublicHost [::1]", "PublicHost: bad host name '[::1]'" },
	{ "PublicHost h\xc3\xa9.example",
	    "PublicHost: bad host name 'h\\303\\251.example'" },
	{ "PublicHost "
	  "a123456789012345678901234567890123456789012345678901234567890123."
	  "example",
	    "PublicHost: bad host name "
	    "'a123456789012345678901234567890123456789012345678901234567890123"
	    ".example'" },
	{ "PublicHost tunnel example.com",
	    "PublicHost: extra argument 'example.com'" },
	{ "PublicHost \"tunnel example.com\"",
	    "PublicHost: bad host name 'tunnel example.com'" },
	{ "TunnelAddress example.com",
	    "TunnelAddress: 'example.com' is not a numeric IP address" },
	{ "TunnelAddress 127.0.0.1:80",
	    "TunnelAddress: '127.0.0.1:80' is not a numeric IP address" },
	{ "PortRange 9-1", "PortRange: bad range '9-1'" },
	{ "PortRange 0-10", "PortRange: bad range '0-10'" },
	{ "PortRange 0", "PortRange: bad range '0'" },
	{ "PortRange 1-65536", "PortRange: bad range '1-65536'" },
	{ "PortRange 1-", "PortRange: bad range '1-'" },
	{ "PortRange -5", "PortRange: bad range '-5'" },
	{ "PortRange a-b", "PortRange: bad range 'a-b'" },
	{ "PortRange 1-2-3", "PortRange: bad range '1-2-3'" },
	{ "PortRange 1--2", "PortRange: bad range '1--2'" },
	{ "PortRange 10 - 20", "PortRange: extra argument '-'" },
	{ "LoginGraceTime 1x", "LoginGraceTime: bad time '1x'" },
	{ "LoginGraceTime -1", "LoginGraceTime: bad time '-1'" },
	{ "LoginGraceTime 99999999999",
	    "LoginGraceTime: bad time '99999999999'" },
	{ "MaxEndpointsPerSession 0",
	    "MaxEndpointsPerSession: '0' is not in 1..1000" },
	{ "MaxEndpointsPerSession 1001",
	    "MaxEndpointsPerSession: '1001' is not in 1..1000" },
	{ "MaxEndpointsPerSession -5",
	    "MaxEndpointsPerSession: '-5' is not in 1..1000" },
	{ "MaxEndpointsPerSession 99999999999999999999999",
	    "MaxEndpointsPerSession: '99999999999999999999999' is not in "
	    "1..1000" },
	{ "MaxEndpointsPerSession 1e3",
	    "MaxEndpointsPerSession: '1e3' is not in 1..1000" },
	{ "MaxConnectionsPerEndpoint 0",
	    "MaxConnectionsPerEndpoint: '0' is not in 1..65535" },
	{ "MaxConnectionsPerEndpoint 65536",
	    "MaxConnectionsPerEndpoint: '65536' is not in 1..65535" },
	{ "LogLevel loud", "LogLevel: unknown level 'loud'" },
	{ "LogLevel", "LogLevel: missing value" },
	{ "SyslogFacility LOCAL8",
	    "SyslogFacility: unknown facility 'LOCAL8'" },
	{ "SyslogFacility USER", "SyslogFacility: unknown facility 'USER'" },
	{ "AllowAnonymous", "AllowAnonymous: missing value" },
	{ "AllowAnonymous \"\"", "AllowAnonymous: empty value" },
	{ "AllowAnonymous maybe", "AllowAnonymous: 'maybe' is not yes or no" },
	{ "AllowAnonymous 1", "AllowAnonymous: '1' is not yes or no" },
	{ "AllowAnonymous true", "AllowAnonymous: 'true' is not yes or no" },
	{ "AllowAnonymous y", "AllowAnonymous: 'y' is not yes or no" },
	{ "AllowAnonymous yess", "AllowAnonymous: 'yess' is not yes or no" },
	{ "AllowAnonymous yes no", "AllowAnonymous: extra argument 'no'" },
	{ "AddressAffinity", "AddressAffinity: missing value" },
	{ "AddressAffinity -1", "AddressAffinity: bad time '-1'" },
	{ "AddressAffinity 1x", "AddressAffinity: bad time '1x'" },
	{ "AddressAffinity h", "AddressAffinity: bad time 'h'" },
	{ "AddressAffinity off", "AddressAffinity: bad time 'off'" },
	{ "AddressAffinity 99999999999",
	    "AddressAffinity: bad time '99999999999'" },
	{ "AddressAffinity 1 h", "AddressAffinity: extra argument 'h'" },
	{ "MaxSessionsPerAccount", "MaxSessionsPerAccount: missing value" },
	{ "MaxSessionsPerAccount 0",
	    "MaxSessionsPerAccount: '0' is not in 1..100000" },
	{ "MaxSessionsPerAccount 100001",
	    "MaxSessionsPerAccount: '100001' is not in 1..100000" },
	{ "MaxSessionsPerAccount -1",
	    "MaxSessionsPerAccount: '-1' is not in 1..100000" },
	{ "MaxSessionsPerAccount ten",
	    "MaxSessionsPerAccount: 'ten' is not in 1..100000" },
	{ "MaxSessionsPerAccount 1e3",
	    "MaxSessionsPerAccount: '1e3' is not in 1..100000" },
	{ "TokenKey", "TokenKey: missing value" },
	{ "TokenKey \"\"", "TokenKey: empty value" },
	{ "TokenKey /a /b", "TokenKey: extra argument '/b'" },
	{ "TokenKey \"/a b", "TokenKey: unbalanced quote" },
	{ "EventLog", "EventLog: missing value" },
	{ "EventRetention soon", "EventRetention: bad time 'soon'" },
	{ "EventMaxCount", "EventMaxCount: missing value" },
	{ "EventMaxCount -1",
	    "EventMaxCount: '-1' is not in 0..1000000000000" },
	{ "EventMaxCount 1000000000001",
	    "EventMaxCount: '1000000000001' is not in 0..1000000000000" },
	{ "EventMaxCount 1e6",
	    "EventMaxCount: '1e6' is not in 0..1000000000000" },
	{ "EventMaxCount none",
	    "EventMaxCount: 'none' is not in 0..1000000000000" },
	{ "SessionRetention", "SessionRetention: missing value" },
	{ "WebhookBatchSize 0", "WebhookBatchSize: '0' is not in 1..1000" },
	{ "WebhookBatchSize 1001",
	    "WebhookBatchSize: '1001' is not in 1..1000" },
	{ "WebhookTimeout 0",
	    "WebhookTimeout: '0' is not a time of 1s to 300s" },
	{ "WebhookTimeout 301",
	    "WebhookTimeout: '301' is not a time of 1s to 300s" },
	{ "SessionRetention -1d", "SessionRetention: bad time '-1d'" },
	{ "SessionRetention forever", "SessionRetention: bad time 'forever'" },
	{ "SessionRetention 1d 2d", "SessionRetention: extra argument '2d'" },
	{ "BandwidthLimit 0",
	    "BandwidthLimit: bad value '0': want a rate in bytes per second: "
	    "digits with an optional K, M, G or T suffix (binary, 5M = 5 "
	    "MiB/s), 1 to 1T, or none" },
	{ "BandwidthLimit 5MB",
	    "BandwidthLimit: bad value '5MB': want a rate in bytes per "
	    "second: digits with an optional K, M, G or T suffix (binary, "
	    "5M = 5 MiB/s), 1 to 1T, or none" },
	{ "BandwidthLimit 1.5M",
	    "BandwidthLimit: bad value '1.5M': want a rate in bytes per "
	    "second: digits with an optional K, M, G or T suffix (binary, "
	    "5M = 5 MiB/s), 1 to 1T, or none" },
	{ "BandwidthLimit 2T",
	    "BandwidthLimit: bad value '2T': want a rate in bytes per second: "
	    "digits with an optional K, M, G or T suffix (binary, 5M = 5 "
	    "MiB/s), 1 to 1T, or none" },
	{ "BandwidthLimit default",
	    "BandwidthLimit: bad value 'default': want a rate in bytes per "
	    "second: digits with an optional K, M, G or T suffix (binary, "
	    "5M = 5 MiB/s), 1 to 1T, or none" },
	{ "BandwidthLimit -5",
	    "BandwidthLimit: bad value '-5': want a rate in bytes per second: "
	    "digits with an optional K, M, G or T suffix (binary, 5M = 5 "
	    "MiB/s), 1 to 1T, or none" },
	{ "TransferQuota 10G",
	    "TransferQuota: bad value '10G': want SIZE/PERIOD: SIZE digits "
	    "with an optional K, M, G or T suffix (binary), PERIOD 1h to 366d "
	    "(10G/30d), or none" },
	{ "TransferQuota 10G/59m",
	    "TransferQuota: bad value '10G/59m': want SIZE/PERIOD: SIZE "
	    "digits with an optional K, M, G or T suffix (binary), PERIOD 1h "
	    "to 366d (10G/30d), or none" },
	{ "TransferQuota 10G/367d",
	    "TransferQuota: bad value '10G/367d': want SIZE/PERIOD: SIZE "
	    "digits with an optional K, M, G or T suffix (binary), PERIOD 1h "
	    "to 366d (10G/30d), or none" },
	{ "TransferQuota 0/30d",
	    "TransferQuota: bad value '0/30d': want SIZE/PERIOD: SIZE digits "
	    "with an optional K, M, G or T suffix (binary), PERIOD 1h to 366d "
	    "(10G/30d), or none" },
	{ "TransferQuota /30d",
	    "TransferQuota: bad value '/30d': want SIZE/PERIOD: SIZE digits "
	    "with an optional K, M, G or T suffix (binary), PERIOD 1h to 366d "
	    "(10G/30d), or none" },
	{ "TransferQuota 10G/30d/1",
	    "TransferQuota: bad value '10G/30d/1': want SIZE/PERIOD: SIZE "
	    "digits with an optional K, M, G or T suffix (binary), PERIOD 1h "
	    "to 366d (10G/30d), or none" },
	{ "ConnectionRateLimit 0",
	    "ConnectionRateLimit: bad value '0': want a number from 1 to "
	    "1000000, or none" },
	{ "ConnectionRateLimit 1000001",
	    "ConnectionRateLimit: bad value '1000001': want a number from 1 "
	    "to 1000000, or none" },
	{ "ConnectionRateLimit 10/m",
	    "ConnectionRateLimit: bad value '10/m': want a number from 1 to "
	    "1000000, or none" },
	{ "MaxConnectionsPerSource 5k",
	    "MaxConnectionsPerSource: bad value '5k': want a number from 1 "
	    "to 1000000, or none" },
	{ "ConnectionIdleTimeout 0",
	    "ConnectionIdleTimeout: bad value '0': want a time from 1s to "
	    "366d (90s, 5m, 1h30m; a plain number is seconds), or none" },
	{ "ConnectionIdleTimeout 5x",
	    "ConnectionIdleTimeout: bad value '5x': want a time from 1s to "
	    "366d (90s, 5m, 1h30m; a plain number is seconds), or none" },
	{ "ConnectionIdleTimeout 367d",
	    "ConnectionIdleTimeout: bad value '367d': want a time from 1s to "
	    "366d (90s, 5m, 1h30m; a plain number is seconds), or none" },
	{ "MetricsAccountLabels on",
	    "MetricsAccountLabels: 'on' is not yes or no" },
	{ "BandwidthLimit 1M 2M", "BandwidthLimit: extra argument '2M'" },
	{ "MetricsListen 127.0.0.1",
	    "MetricsListen: '127.0.0.1' is not ADDRESS:PORT (numeric, port "
	    "not 0) or none" },
	{ "MetricsListen localhost:9100",
	    "MetricsListen: 'localhost:9100' is not ADDRESS:PORT (numeric, "
	    "port not 0) or none" },
	{ "MaxStartups 5:50",
	    "MaxStartups: '5:50' is not N or START:RATE:FULL "
	    "(1 <= START <= FULL, RATE 1-100)" },
	{ "MaxStartups 20:30:10",
	    "MaxStartups: '20:30:10' is not N or "
	    "START:RATE:FULL (1 <= START <= FULL, RATE 1-100)" },
	{ "MaxAuthTries 0", "MaxAuthTries: '0' is not in 1..1000" },
	{ "PerSourcePenalties authfail",
	    "PerSourcePenalties: 'authfail' is "
	    "not KEY:TIME" },
	{ "PerSourcePenalties bogus:1s",
	    "PerSourcePenalties: bad "
	    "'bogus:1s' (authfail, noauth, grace-exceeded, crash, min, max "
	    "with a time)" },
	/* Found by fuzz_conf: the words are quoted like every other value. */
	{ "PerSourcePenalties \213",
	    "PerSourcePenalties: '\\213' is not "
	    "KEY:TIME" },
	{ "PerSourcePenalties max:\0011s",
	    "PerSourcePenalties: bad 'max:\\0011s' (authfail, noauth, "
	    "grace-exceeded, crash, min, max with a time)" },
	{ "ApiListen 127.0.0.1:0",
	    "ApiListen: '127.0.0.1:0' is not ADDRESS:PORT (numeric, port not "
	    "0) or none" },
	{ "ApiMaxConnections 0", "ApiMaxConnections: '0' is not in 1..10000" },
	{ "ApiMaxConnectionsPerSource 0",
	    "ApiMaxConnectionsPerSource: '0' is not in 1..10000 or none" },
	{ "ApiMaxBodySize 100",
	    "ApiMaxBodySize: '100' is not a size in bytes (K and M suffixes "
	    "allowed) from 1024 to 67108864" },
	{ "ApiMaxHeaderSize 2M",
	    "ApiMaxHeaderSize: '2M' is not a size in bytes (K and M suffixes "
	    "allowed) from 4096 to 1048576" },
	{ "ApiRequestTimeout 0",
	    "ApiRequestTimeout: bad time '0' (1s to 3600s)" },
	{ "ApiCertificate cert.pem",
	    "ApiCertificate: 'cert.pem' is not an absolute path or none" },
	{ "ApiBaseURL ftp://x",
	    "ApiBaseURL: 'ftp://x' is not an http:// or https:// URL (no "
	    "query, at most 200 bytes) or none" },
	{ "MetricsListen 127.0.0.1:0",
	    "MetricsListen: '127.0.0.1:0' is not ADDRESS:PORT (numeric, port "
	    "not 0) or none" },
};

/* Return what conf_dump prints, after a '\n' so every line has one. */
static char *
dump_str(const struct conf *conf)
{
	FILE *f;
	char *s = NULL;
	size_t len = 0;

	ck_assert_ptr_nonnull(f = open_memstream(&s, &len));
	fputc('\n', f);
	conf_dump(conf, f);
	ck_assert_int_eq(fclose(f), 0);
	return s;
}

/* Predicate: the dump of <conf> has the line <line>. */
static int
dump_has(const struct conf *conf, const char *line)
{
	char *dump, *want;
	int found;

	dump = dump_str(conf);
	ck_assert_int_ne(asprintf(&want, "\n%s\n", line), -1);
	found = strstr(dump, want) != NULL;
	free(want);
	free(dump);
	return found;
}

/* Apply <line> and insist that it works. */
static void
apply_ok(struct conf *conf, const char *line, int cmdline)
{
	char err[ERRLEN];
	int r;

	r = conf_apply_line(conf, line, cmdline, err, sizeof(err));
	ck_assert_msg(r == 0, "'%s': %d %s", line, r, err);
	ck_assert_str_eq(err, "");
}

/* Apply <line> and insist that it fails with a reason holding <want>. */
static void
apply_fail(struct conf *conf, const char *line, int cmdline, const char *want)
{
	char err[ERRLEN];
	int r;

	r = conf_apply_line(conf, line, cmdline, err, sizeof(err));
	ck_assert_msg(r == PORTHOLE_ERR_INVALID_FORMAT, "'%s': %d", line, r);
	ck_assert_msg(strstr(err, want) != NULL, "'%s': '%s'", line, err);
}

/* Write <text> (of <len> bytes) to a new temporary file; caller unlinks. */
static char *
write_tmp(const char *text, size_t len)
{
	char *path;
	int fd;

	path = strdup("/tmp/check_conf.XXXXXX");
	ck_assert_ptr_nonnull(path);
	ck_assert_int_ne(fd = mkstemp(path), -1);
	ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
	ck_assert_int_eq(close(fd), 0);
	return path;
}

/* conf_new holds the documented defaults and nothing derived yet. */
START_TEST(test_defaults)
{
	struct conf *conf = conf_new();

	ck_assert_uint_eq(conf->nlisten, 0);
	ck_assert_ptr_null(conf->listen);
	ck_assert_str_eq(conf->state_dir, CONF_DEFAULT_STATEDIR);
	ck_assert_ptr_null(conf->database);
	ck_assert_ptr_null(conf->host_key);
	ck_assert_uint_eq(conf->npublic_hosts, 0);
	ck_assert_str_eq(conf->tunnel_address, "0.0.0.0");
	ck_assert_uint_eq(conf->port_low, 10000);
	ck_assert_uint_eq(conf->port_high, 59999);
	ck_assert_int_eq(conf->login_grace_time, 120);
	ck_assert_int_eq(conf->max_endpoints_per_session, 16);
	ck_assert_int_eq(conf->max_connections_per_endpoint, 1024);
	ck_assert_int_eq(conf->log_level, LOG_LEVEL_INFO);
	ck_assert_int_eq(conf->syslog, 0);
	ck_assert_int_eq(conf->allow_anonymous, 0);
	ck_assert_int_eq(conf->address_affinity, 86400);
	ck_assert_int_eq(conf->max_sessions_per_account, 10);
	ck_assert_ptr_null(conf->token_key);
	conf_free(conf);
	conf_free(NULL);
}
END_TEST

/* Each good line applies, and the dump shows the value. */
START_TEST(test_line_ok)
{
	struct conf *conf = conf_new();

	apply_ok(conf, line_ok[_i].line, 0);
	ck_assert_msg(dump_has(conf, line_ok[_i].dump), "'%s': no '%s'",
	    line_ok[_i].line, line_ok[_i].dump);
	conf_free(conf);
}
END_TEST

/* The same lines given as -o behave the same. */
START_TEST(test_line_ok_cmdline)
{
	struct conf *conf = conf_new();

	apply_ok(conf, line_ok[_i].line, 1);
	ck_assert_msg(dump_has(conf, line_ok[_i].dump), "'%s': no '%s'",
	    line_ok[_i].line, line_ok[_i].dump);
	conf_free(conf);
}
END_TEST

/* Blank and comment lines succeed and change nothing. */
START_TEST(test_line_noop)
{
	struct conf *conf = conf_new(), *fresh = conf_new();
	char *a, *b;

	apply_ok(conf, line_noop[_i], 0);
	a = dump_str(conf);
	b = dump_str(fresh);
	ck_assert_str_eq(a, b);
	free(a);
	free(b);
	conf_free(conf);
	conf_free(fresh);
}
END_TEST

/* Each bad line fails with its reason and leaves the conf unchanged. */
START_TEST(test_line_bad)
{
	struct conf *conf = conf_new(), *fresh = conf_new();
	char err[ERRLEN];
	char *a, *b;

	ck_assert_int_eq(conf_apply_line(conf, line_bad[_i].line, 0, err,
	                     sizeof(err)),
	    PORTHOLE_ERR_INVALID_FORMAT);
	ck_assert_str_eq(err, line_bad[_i].err);
	a = dump_str(conf);
	b = dump_str(fresh);
	ck_assert_str_eq(a, b);
	free(a);
	free(b);
	/* The -o form fails the same way. */
	ck_assert_int_eq(conf_apply_line(conf, line_bad[_i].line, 1, err,
	                     sizeof(err)),
	    PORTHOLE_ERR_INVALID_FORMAT);
	ck_assert_str_eq(err, line_bad[_i].err);
	conf_free(conf);
	conf_free(fresh);
}
END_TEST

/* errbuf may be NULL, and a short one is clipped but terminated. */
START_TEST(test_errbuf)
{
	struct conf *conf = conf_new();
	char err[8];

	ck_assert_int_eq(conf_apply_line(conf, "Nope 1", 0, NULL, 0),
	    PORTHOLE_ERR_INVALID_FORMAT);
	ck_assert_int_eq(conf_apply_line(conf, "Nope 1", 0, err, sizeof(err)),
	    PORTHOLE_ERR_INVALID_FORMAT);
	ck_assert_str_eq(err, "unknown");
	conf_free(conf);
}
END_TEST

/* Values land in the struct fields, not just in the dump. */
START_TEST(test_fields)
{
	struct conf *conf = conf_new();

	apply_ok(conf, "ListenAddress 127.0.0.1:0", 0);
	apply_ok(conf, "ListenAddress [::1]:2200", 0);
	apply_ok(conf, "PublicHost a.example", 0);
	apply_ok(conf, "PublicHost b.example", 0);
	apply_ok(conf, "PortRange 30000-30009", 0);
	apply_ok(conf, "LoginGraceTime 2m", 0);
	apply_ok(conf, "MaxEndpointsPerSession 3", 0);
	apply_ok(conf, "MaxConnectionsPerEndpoint 7", 0);
	apply_ok(conf, "LogLevel DEBUG2", 0);
	apply_ok(conf, "SyslogFacility LOCAL3", 0);
	apply_ok(conf, "TunnelAddress 127.0.0.2", 0);
	apply_ok(conf, "AllowAnonymous yes", 0);
	apply_ok(conf, "AddressAffinity 2h", 0);
	apply_ok(conf, "MaxSessionsPerAccount 42", 0);
	apply_ok(conf, "TokenKey /etc/ph/token.key", 0);
	ck_assert_uint_eq(conf->nlisten, 2);
	ck_assert_str_eq(conf->listen[0].host, "127.0.0.1");
	ck_assert_uint_eq(conf->listen[0].port, 0);
	ck_assert_str_eq(conf->listen[1].host, "::1");
	ck_assert_uint_eq(conf->listen[1].port, 2200);
	ck_assert_uint_eq(conf->npublic_hosts, 2);
	ck_assert_str_eq(conf->public_hosts[0], "a.example");
	ck_assert_str_eq(conf->public_hosts[1], "b.example");
	ck_assert_uint_eq(conf->port_low, 30000);
	ck_assert_uint_eq(conf->port_high, 30009);
	ck_assert_int_eq(conf->login_grace_time, 120);
	ck_assert_int_eq(conf->max_endpoints_per_session, 3);
	ck_assert_int_eq(conf->max_connections_per_endpoint, 7);
	ck_assert_int_eq(conf->log_level, LOG_LEVEL_DEBUG2);
	ck_assert_int_eq(conf->syslog, 1);
	ck_assert_str_eq(conf->tunnel_address, "127.0.0.2");
	ck_assert_int_eq(conf->allow_anonymous, 1);
	ck_assert_int_eq(conf->address_affinity, 7200);
	ck_assert_int_eq(conf->max_sessions_per_account, 42);
	ck_assert_str_eq(conf->token_key, "/etc/ph/token.key");
	/* Within one source a later scalar wins. */
	apply_ok(conf, "LogLevel ERROR", 0);
	apply_ok(conf, "SyslogFacility none", 0);
	apply_ok(conf, "AllowAnonymous no", 0);
	apply_ok(conf, "AddressAffinity 0", 0);
	apply_ok(conf, "MaxSessionsPerAccount 3", 0);
	apply_ok(conf, "TokenKey other.key", 0);
	ck_assert_int_eq(conf->log_level, LOG_LEVEL_ERROR);
	ck_assert_int_eq(conf->syslog, 0);
	ck_assert_int_eq(conf->allow_anonymous, 0);
	ck_assert_int_eq(conf->address_affinity, 0);
	ck_assert_int_eq(conf->max_sessions_per_account, 3);
	ck_assert_str_eq(conf->token_key, "other.key");
	conf_free(conf);
}
END_TEST

/*
 * The traffic limits reach their fields (all none, i.e. 0, by default),
 * none clears one, and -o wins over the file for them too.
 */
START_TEST(test_limits)
{
	struct conf *conf = conf_new();

	ck_assert_int_eq(conf->bandwidth_limit, 0);
	ck_assert_int_eq(conf->transfer_quota, 0);
	ck_assert_int_eq(conf->transfer_quota_period, 0);
	ck_assert_int_eq(conf->connection_rate_limit, 0);
	ck_assert_int_eq(conf->max_connections_per_source, 0);
	ck_assert_int_eq(conf->connection_idle_timeout, 0);
	ck_assert_int_eq(conf->metrics_account_labels, 0);
	apply_ok(conf, "BandwidthLimit 5M", 1);
	apply_ok(conf, "BandwidthLimit 1K", 0); /* the file's: -o won */
	apply_ok(conf, "TransferQuota 10G/30d", 0);
	apply_ok(conf, "ConnectionRateLimit 60", 0);
	apply_ok(conf, "MaxConnectionsPerSource 8", 0);
	apply_ok(conf, "ConnectionIdleTimeout 2m", 0);
	apply_ok(conf, "MetricsAccountLabels yes", 0);
	ck_assert_int_eq(conf->bandwidth_limit, 5 * 1024 * 1024);
	ck_assert_int_eq(conf->transfer_quota, 10LL * 1024 * 1024 * 1024);
	ck_assert_int_eq(conf->transfer_quota_period, 30 * 86400);
	ck_assert_int_eq(conf->connection_rate_limit, 60);
	ck_assert_int_eq(conf->max_connections_per_source, 8);
	ck_assert_int_eq(conf->connection_idle_timeout, 120);
	ck_assert_int_eq(conf->metrics_account_labels, 1);
	apply_ok(conf, "TransferQuota none", 0);
	apply_ok(conf, "ConnectionRateLimit none", 0);
	apply_ok(conf, "MaxConnectionsPerSource none", 0);
	apply_ok(conf, "ConnectionIdleTimeout none", 0);
	apply_ok(conf, "MetricsAccountLabels no", 0);
	ck_assert_int_eq(conf->transfer_quota, 0);
	ck_assert_int_eq(conf->transfer_quota_period, 0);
	ck_assert_int_eq(conf->connection_rate_limit, 0);
	ck_assert_int_eq(conf->max_connections_per_source, 0);
	ck_assert_int_eq(conf->connection_idle_timeout, 0);
	ck_assert_int_eq(conf->metrics_account_labels, 0);
	ck_assert_int_eq(conf->bandwidth_limit, 5 * 1024 * 1024);
	conf_free(conf);
}
END_TEST

/* -o first, then the file: -o values win, repeated -o accumulate. */
START_TEST(test_cmdline_first)
{
	struct conf *conf = conf_new();

	apply_ok(conf, "ListenAddress=127.0.0.1:0", 1);
	apply_ok(conf, "ListenAddress=[::1]:0", 1);
	apply_ok(conf, "LogLevel=DEBUG3", 1);
	apply_ok(conf, "PublicHost=o.example", 1);
	/* The file's lines for those keywords are ignored. */
	apply_ok(conf, "ListenAddress 0.0.0.0:22", 0);
	apply_ok(conf, "LogLevel ERROR", 0);
	apply_ok(conf, "PublicHost f.example", 0);
	/* Keywords -o did not touch still come from the file. */
	apply_ok(conf, "PortRange 40000-40001", 0);
	ck_assert_uint_eq(conf->nlisten, 2);
	ck_assert_str_eq(conf->listen[0].host, "127.0.0.1");
	ck_assert_str_eq(conf->listen[1].host, "::1");
	ck_assert_int_eq(conf->log_level, LOG_LEVEL_DEBUG3);
	ck_assert_uint_eq(conf->npublic_hosts, 1);
	ck_assert_str_eq(conf->public_hosts[0], "o.example");
	ck_assert_uint_eq(conf->port_low, 40000);
	conf_free(conf);
}
END_TEST

/* File first, then -o: the first -o replaces the file's list. */
START_TEST(test_cmdline_after_file)
{
	struct conf *conf = conf_new();

	apply_ok(conf, "ListenAddress 0.0.0.0:22", 0);
	apply_ok(conf, "ListenAddress 0.0.0.0:23", 0);
	apply_ok(conf, "PublicHost a.example", 0);
	apply_ok(conf, "PublicHost b.example", 0);
	apply_ok(conf, "LoginGraceTime 10", 0);
	apply_ok(conf, "ListenAddress=127.0.0.1:1", 1);
	ck_assert_uint_eq(conf->nlisten, 1);
	apply_ok(conf, "ListenAddress=127.0.0.1:2", 1);
	apply_ok(conf, "PublicHost=c.example", 1);
	apply_ok(conf, "LoginGraceTime=5", 1);
	/* A file line after that no longer counts. */
	apply_ok(conf, "ListenAddress 0.0.0.0:24", 0);
	apply_ok(conf, "LoginGraceTime 99", 0);
	ck_assert_uint_eq(conf->nlisten, 2);
	ck_assert_uint_eq(conf->listen[0].port, 1);
	ck_assert_uint_eq(conf->listen[1].port, 2);
	ck_assert_uint_eq(conf->npublic_hosts, 1);
	ck_assert_str_eq(conf->public_hosts[0], "c.example");
	ck_assert_int_eq(conf->login_grace_time, 5);
	conf_free(conf);
}
END_TEST

/*
 * A file line overridden by -o is still checked; a bad -o value neither
 * clears the file's list nor marks the keyword as set by -o.
 */
START_TEST(test_cmdline_errors)
{
	struct conf *conf = conf_new();
	char err[ERRLEN];

	apply_ok(conf, "PortRange=2000-2001", 1);
	ck_assert_int_eq(conf_apply_line(conf, "PortRange 9-1", 0, err,
	                     sizeof(err)),
	    PORTHOLE_ERR_INVALID_FORMAT);
	ck_assert_str_eq(err, "PortRange: bad range '9-1'");
	ck_assert_uint_eq(conf->port_low, 2000);

	apply_ok(conf, "ListenAddress 1.2.3.4:1", 0);
	ck_assert_int_eq(conf_apply_line(conf, "ListenAddress=bogus", 1, err,
	                     sizeof(err)),
	    PORTHOLE_ERR_INVALID_FORMAT);
	ck_assert_uint_eq(conf->nlisten, 1);
	apply_ok(conf, "ListenAddress 1.2.3.4:2", 0);
	ck_assert_uint_eq(conf->nlisten, 2);
	conf_free(conf);
}
END_TEST

/* -o beats the file for the new keywords too, in either order. */
START_TEST(test_cmdline_new_keywords)
{
	struct conf *conf = conf_new();
	char err[ERRLEN];

	/* -o first: the file's values are checked but not stored. */
	apply_ok(conf, "AllowAnonymous=yes", 1);
	apply_ok(conf, "AddressAffinity=0", 1);
	apply_ok(conf, "MaxSessionsPerAccount=5", 1);
	apply_ok(conf, "TokenKey=/o/token.key", 1);
	apply_ok(conf, "AllowAnonymous no", 0);
	apply_ok(conf, "AddressAffinity 1h", 0);
	apply_ok(conf, "MaxSessionsPerAccount 50", 0);
	apply_ok(conf, "TokenKey /file/token.key", 0);
	ck_assert_int_eq(conf->allow_anonymous, 1);
	ck_assert_int_eq(conf->address_affinity, 0);
	ck_assert_int_eq(conf->max_sessions_per_account, 5);
	ck_assert_str_eq(conf->token_key, "/o/token.key");
	ck_assert(dump_has(conf, "allowanonymous yes"));
	ck_assert(dump_has(conf, "addressaffinity 0"));
	ck_assert(dump_has(conf, "maxsessionsperaccount 5"));
	ck_assert(dump_has(conf, "tokenkey /o/token.key"));
	ck_assert_int_eq(conf_apply_line(conf, "AllowAnonymous maybe", 0, err,
	                     sizeof(err)),
	    PORTHOLE_ERR_INVALID_FORMAT);
	ck_assert_str_eq(err, "AllowAnonymous: 'maybe' is not yes or no");
	ck_assert_int_eq(conf_apply_line(conf, "MaxSessionsPerAccount 0", 0,
	                     err, sizeof(err)),
	    PORTHOLE_ERR_INVALID_FORMAT);
	ck_assert_int_eq(conf->allow_anonymous, 1);
	ck_assert_int_eq(conf->max_sessions_per_account, 5);
	conf_free(conf);

	/* File first, then -o: -o replaces, later file lines are ignored. */
	conf = conf_new();
	apply_ok(conf, "AllowAnonymous yes", 0);
	apply_ok(conf, "AddressAffinity 2h", 0);
	apply_ok(conf, "MaxSessionsPerAccount 9", 0);
	apply_ok(conf, "TokenKey /file/token.key", 0);
	apply_ok(conf, "AllowAnonymous=no", 1);
	apply_ok(conf, "AddressAffinity=30m", 1);
	apply_ok(conf, "MaxSessionsPerAccount=100000", 1);
	apply_ok(conf, "TokenKey=/o/token.key", 1);
	apply_ok(conf, "AllowAnonymous yes", 0);
	apply_ok(conf, "AddressAffinity 1d", 0);
	apply_ok(conf, "MaxSessionsPerAccount 1", 0);
	apply_ok(conf, "TokenKey /later/token.key", 0);
	ck_assert_int_eq(conf->allow_anonymous, 0);
	ck_assert_int_eq(conf->address_affinity, 1800);
	ck_assert_int_eq(conf->max_sessions_per_account, 100000);
	ck_assert_str_eq(conf->token_key, "/o/token.key");
	/* A later -o for a scalar still wins over an earlier -o. */
	apply_ok(conf, "AllowAnonymous=yes", 1);
	ck_assert_int_eq(conf->allow_anonymous, 1);
	/* conf_finish keeps a TokenKey given by -o. */
	ck_assert_int_eq(conf_finish(conf, err, sizeof(err)), 0);
	ck_assert_str_eq(conf->token_key, "/o/token.key");
	conf_free(conf);
}
END_TEST

/* -o for the new keywords beats a file read by conf_load_file. */
START_TEST(test_load_file_cmdline_new_keywords)
{
	static const char text[] = "AllowAnonymous yes\n"
	                           "AddressAffinity 1w\n"
	                           "MaxSessionsPerAccount 77\n"
	                           "TokenKey /file/token.key\n";
	struct conf *conf = conf_new();
	char err[ERRLEN];
	char *path;

	apply_ok(conf, "AddressAffinity=0", 1);
	apply_ok(conf, "TokenKey=/o/token.key", 1);
	path = write_tmp(text, sizeof(text) - 1);
	ck_assert_int_eq(conf_load_file(conf, path, 1, err, sizeof(err)), 0);
	/* From the file. */
	ck_assert_int_eq(conf->allow_anonymous, 1);
	ck_assert_int_eq(conf->max_sessions_per_account, 77);
	/* From -o. */
	ck_assert_int_eq(conf->address_affinity, 0);
	ck_assert_str_eq(conf->token_key, "/o/token.key");
	unlink(path);
	free(path);
	conf_free(conf);
}
END_TEST

/* A whole file: comments, CRLF, "=" form, a last line without '\n'. */
START_TEST(test_load_file)
{
	static const char text[] =
	    "# portholed.conf\n"
	    "\n"
	    "ListenAddress 127.0.0.1:2022\r\n"
	    "  ListenAddress [::1]:2022   # loopback v6\n"
	    "PublicHost=tunnel.example.com\n"
	    "PortRange 30000-30099\n"
	    "LogLevel VERBOSE";
	struct conf *conf = conf_new();
	char err[ERRLEN];
	char *path;

	path = write_tmp(text, sizeof(text) - 1);
	ck_assert_int_eq(conf_load_file(conf, path, 1, err, sizeof(err)), 0);
	ck_assert_str_eq(err, "");
	ck_assert_uint_eq(conf->nlisten, 2);
	ck_assert_str_eq(conf->listen[1].host, "::1");
	ck_assert_uint_eq(conf->listen[1].port, 2022);
	ck_assert_uint_eq(conf->npublic_hosts, 1);
	ck_assert_uint_eq(conf->port_high, 30099);
	ck_assert_int_eq(conf->log_level, LOG_LEVEL_VERBOSE);
	unlink(path);
	free(path);
	conf_free(conf);
}
END_TEST

/* Each keyword keeps to its own field (MetricsListen none once freed User). */
START_TEST(test_load_file_user_kept)
{
	static const char text[] = "User porthole\n"
	                           "MetricsListen none\n"
	                           "User porthole2\n"
	                           "MetricsListen none\n";
	struct conf *conf = conf_new();
	char err[ERRLEN];
	char *path;

	path = write_tmp(text, sizeof(text) - 1);
	ck_assert_int_eq(conf_load_file(conf, path, 1, err, sizeof(err)), 0);
	ck_assert_ptr_nonnull(conf->user);
	ck_assert_str_eq(conf->user, "porthole2"); /* the last line wins */
	ck_assert_ptr_null(conf->metrics_host);
	unlink(path);
	free(path);
	conf_free(conf);
}
END_TEST

/* -o applied before conf_load_file wins over the file. */
START_TEST(test_load_file_cmdline)
{
	static const char text[] = "ListenAddress 0.0.0.0:22\n"
	                           "LogLevel QUIET\n"
	                           "ListenAddress 0.0.0.0:23\n";
	struct conf *conf = conf_new();
	char err[ERRLEN];
	char *path;

	apply_ok(conf, "ListenAddress=127.0.0.1:0", 1);
	path = write_tmp(text, sizeof(text) - 1);
	ck_assert_int_eq(conf_load_file(conf, path, 1, err, sizeof(err)), 0);
	ck_assert_uint_eq(conf->nlisten, 1);
	ck_assert_str_eq(conf->listen[0].host, "127.0.0.1");
	ck_assert_uint_eq(conf->listen[0].port, 0);
	ck_assert_int_eq(conf->log_level, LOG_LEVEL_QUIET);
	unlink(path);
	free(path);
	conf_free(conf);
}
END_TEST

/* A bad line is reported as PATH:LINE: reason. */
START_TEST(test_load_file_bad_line)
{
	static const char text[] = "# ok\n"
	                           "PortRange 1-2\n"
	                           "Bogus yes\n"
	                           "LogLevel nonsense\n";
	struct conf *conf = conf_new();
	char err[ERRLEN], want[ERRLEN];
	char *path;

	path = write_tmp(text, sizeof(text) - 1);
	ck_assert_int_eq(conf_load_file(conf, path, 1, err, sizeof(err)),
	    PORTHOLE_ERR_INVALID_FORMAT);
	snprintf(want, sizeof(want), "%s:3: unknown keyword 'Bogus'", path);
	ck_assert_str_eq(err, want);
	unlink(path);
	free(path);
	conf_free(conf);
}
END_TEST

/* A NUL byte inside a line is an error, not a silent truncation. */
START_TEST(test_load_file_nul)
{
	static const char text[] = "LogLevel INFO\n"
	                           "LogLevel DEBUG\0garbage\n";
	struct conf *conf = conf_new();
	char err[ERRLEN], want[ERRLEN];
	char *path;

	path = write_tmp(text, sizeof(text) - 1);
	ck_assert_int_eq(conf_load_file(conf, path, 1, err, sizeof(err)),
	    PORTHOLE_ERR_INVALID_FORMAT);
	snprintf(want, sizeof(want), "%s:2: NUL byte in line", path);
	ck_assert_str_eq(err, want);
	ck_assert_int_eq(conf->log_level, LOG_LEVEL_INFO);
	unlink(path);
	free(path);
	conf_free(conf);
}
END_TEST

/* A missing file is fine unless it must exist; a directory is not a file. */
START_TEST(test_load_file_missing)
{
	struct conf *conf = conf_new();
	char err[ERRLEN], want[ERRLEN], dir[] = "/tmp/ccdir.XXXXXX";
	const char *missing = "/nonexistent/porthole/portholed.conf";

	ck_assert_int_eq(conf_load_file(conf, missing, 0, err, sizeof(err)), 0);
	ck_assert_str_eq(err, "");
	ck_assert_int_eq(conf_load_file(conf, missing, 1, err, sizeof(err)),
	    PORTHOLE_ERR_SYSTEM);
	ck_assert_int_eq(errno, ENOENT);
	snprintf(want, sizeof(want), "%s: %s", missing, strerror(ENOENT));
	ck_assert_str_eq(err, want);

	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(conf_load_file(conf, dir, 0, err, sizeof(err)),
	    PORTHOLE_ERR_SYSTEM);
	ck_assert_int_eq(errno, EISDIR);
	rmdir(dir);
	conf_free(conf);
}
END_TEST

/* conf_finish derives listen, paths and the public host from defaults. */
START_TEST(test_finish_defaults)
{
	struct conf *conf = conf_new();
	char err[ERRLEN], host[256];

	ck_assert_int_eq(conf_finish(conf, err, sizeof(err)), 0);
	ck_assert_str_eq(err, "");
	ck_assert_uint_eq(conf->nlisten, 1);
	ck_assert_str_eq(conf->listen[0].host, "0.0.0.0");
	ck_assert_uint_eq(conf->listen[0].port, 2222);
	ck_assert_str_eq(conf->database, CONF_DEFAULT_STATEDIR "/porthole.db");
	ck_assert_str_eq(conf->host_key,
	    CONF_DEFAULT_STATEDIR "/ssh_host_ed25519_key");
	ck_assert_str_eq(conf->token_key, CONF_DEFAULT_STATEDIR "/token.key");
	ck_assert_int_eq(gethostname(host, sizeof(host)), 0);
	ck_assert_uint_eq(conf->npublic_hosts, 1);
	ck_assert_str_eq(conf->public_hosts[0], host);
	/* The node is named after the host; no region. */
	ck_assert_str_eq(conf->node_name, host);
	ck_assert_ptr_null(conf->region);
	/* Finishing again adds nothing. */
	ck_assert_int_eq(conf_finish(conf, err, sizeof(err)), 0);
	ck_assert_uint_eq(conf->nlisten, 1);
	ck_assert_uint_eq(conf->npublic_hosts, 1);
	conf_free(conf);
}
END_TEST

/* -T never shows a database password. */
START_TEST(test_dump_database_password)
{
	struct conf *conf = conf_new();
	char err[ERRLEN];

	apply_ok(conf, "Database postgresql://ph:s3cret@db/porthole", 0);
	apply_ok(conf, "PublicHost a.example", 0);
	ck_assert_int_eq(conf_finish(conf, err, sizeof(err)), 0);
	ck_assert(dump_has(conf, "database postgresql://ph:***@db/porthole"));
	conf_free(conf);
}
END_TEST

/* NodeName and Region: names safe in rows, labels and tables. */
START_TEST(test_node_region)
{
	struct conf *conf = conf_new();
	char err[ERRLEN];

	apply_ok(conf, "NodeName eu-1.example", 0);
	apply_ok(conf, "Region eu_west-2", 0);
	ck_assert_str_eq(conf->node_name, "eu-1.example");
	ck_assert_str_eq(conf->region, "eu_west-2");
	apply_ok(conf, "Region none", 0);
	ck_assert_ptr_null(conf->region);
	apply_fail(conf, "NodeName -n1", 0, "NodeName: bad name '-n1'");
	apply_fail(conf, "NodeName \"a b\"", 0, "NodeName: bad name 'a b'");
	apply_fail(conf, "Region eu/west", 0, "Region: bad region 'eu/west'");
	apply_fail(conf,
	    "Region "
	    "a23456789012345678901234567890123",
	    0, "Region: bad region");
	apply_ok(conf,
	    "NodeName "
	    "a23456789012345678901234567890123456789012345678901234567890123",
	    0);
	apply_fail(conf,
	    "NodeName "
	    "a234567890123456789012345678901234567890123456789012345678901234",
	    0, "NodeName: bad name");
	/* -o wins over the file. */
	apply_ok(conf, "NodeName cli", 1);
	apply_ok(conf, "NodeName file", 0);
	ck_assert_str_eq(conf->node_name, "cli");
	ck_assert_int_eq(conf_finish(conf, err, sizeof(err)), 0);
	ck_assert_str_eq(conf->node_name, "cli");
	/* NodeTimeout: 15 s by default, 3 s to an hour. */
	ck_assert_int_eq(conf->node_timeout, 15);
	apply_ok(conf, "NodeTimeout 1m", 0);
	ck_assert_int_eq(conf->node_timeout, 60);
	apply_ok(conf, "NodeTimeout 3", 0);
	ck_assert_int_eq(conf->node_timeout, 3);
	apply_fail(conf, "NodeTimeout 2s", 0, "NodeTimeout: bad time '2s'");
	apply_fail(conf, "NodeTimeout 2h", 0, "NodeTimeout: bad time '2h'");
	apply_fail(conf, "NodeTimeout soon", 0, "NodeTimeout: bad time");
	ck_assert(dump_has(conf, "nodetimeout 3"));
	conf_free(conf);
}
END_TEST

/* Derived paths follow StateDirectory; explicit values are kept. */
START_TEST(test_finish_paths)
{
	struct conf *conf = conf_new();
	char err[ERRLEN];

	apply_ok(conf, "StateDirectory /srv/ph/", 0);
	apply_ok(conf, "HostKey /etc/ph/key", 0);
	apply_ok(conf, "PublicHost ph.example", 0);
	apply_ok(conf, "ListenAddress 127.0.0.1:0", 0);
	ck_assert_int_eq(conf_finish(conf, err, sizeof(err)), 0);
	ck_assert_str_eq(conf->database, "/srv/ph/porthole.db");
	ck_assert_str_eq(conf->host_key, "/etc/ph/key");
	ck_assert_str_eq(conf->token_key, "/srv/ph/token.key");
	ck_assert_uint_eq(conf->npublic_hosts, 1);
	ck_assert_str_eq(conf->public_hosts[0], "ph.example");
	ck_assert_uint_eq(conf->nlisten, 1);
	ck_assert_str_eq(conf->listen[0].host, "127.0.0.1");
	conf_free(conf);

	conf = conf_new();
	apply_ok(conf, "StateDirectory state", 0);
	apply_ok(conf, "Database /var/db/p.db", 0);
	ck_assert_int_eq(conf_finish(conf, err, sizeof(err)), 0);
	ck_assert_str_eq(conf->database, "/var/db/p.db");
	ck_assert_str_eq(conf->host_key, "state/ssh_host_ed25519_key");
	ck_assert_str_eq(conf->token_key, "state/token.key");
	conf_free(conf);

	/* An explicit TokenKey is kept, whatever StateDirectory says. */
	conf = conf_new();
	apply_ok(conf, "StateDirectory /srv/ph", 0);
	apply_ok(conf, "TokenKey /etc/ph/token.key", 0);
	ck_assert_int_eq(conf_finish(conf, err, sizeof(err)), 0);
	ck_assert_str_eq(conf->token_key, "/etc/ph/token.key");
	ck_assert_str_eq(conf->host_key, "/srv/ph/ssh_host_ed25519_key");
	conf_free(conf);
}
END_TEST

/* The same address and fixed port twice is refused; port 0 twice is not. */
START_TEST(test_finish_duplicate_listen)
{
	struct conf *conf = conf_new();
	char err[ERRLEN];

	apply_ok(conf, "ListenAddress ::1", 0);
	apply_ok(conf, "ListenAddress [0::1]:2222", 0);
	ck_assert_int_eq(conf_finish(conf, err, sizeof(err)),
	    PORTHOLE_ERR_INVALID_FORMAT);
	ck_assert_str_eq(err, "ListenAddress: 0::1 port 2222 given twice");
	conf_free(conf);

	conf = conf_new();
	apply_ok(conf, "ListenAddress 127.0.0.1:0", 0);
	apply_ok(conf, "ListenAddress 127.0.0.1:0", 0);
	apply_ok(conf, "ListenAddress 127.0.0.1:22", 0);
	apply_ok(conf, "ListenAddress 127.0.0.2:22", 0);
	ck_assert_int_eq(conf_finish(conf, err, sizeof(err)), 0);
	conf_free(conf);
}
END_TEST

/* ApiCertificate and ApiPrivateKey go together, or not at all. */
START_TEST(test_finish_api_tls)
{
	static const struct {
		const char *cert, *key;
		int ok;
	} cases[] = {
		{ "ApiCertificate /c.pem", "ApiPrivateKey /k.pem", 1 },
		{ "ApiCertificate /c.pem", "ApiPrivateKey none", 0 },
		{ "ApiCertificate none", "ApiPrivateKey /k.pem", 0 },
		{ "ApiCertificate none", "ApiPrivateKey none", 1 },
	};
	struct conf *conf;
	char err[ERRLEN];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		conf = conf_new();
		apply_ok(conf, "PublicHost a.example", 0);
		apply_ok(conf, cases[i].cert, 0);
		apply_ok(conf, cases[i].key, 0);
		ck_assert_int_eq(conf_finish(conf, err, sizeof(err)),
		    cases[i].ok ? 0 : PORTHOLE_ERR_INVALID_FORMAT);
		if (!cases[i].ok)
			ck_assert_ptr_nonnull(strstr(err, "go together"));
		conf_free(conf);
	}
}
END_TEST

/*
 * AddressAffinity reads ended sessions, which SessionRetention deletes:
 * a retention shorter than the affinity is refused; 0 on either side
 * (keep forever, no affinity) is fine.
 */
START_TEST(test_finish_session_retention)
{
	static const struct {
		const char *retention, *affinity;
		int ok;
	} cases[] = {
		{ "SessionRetention 1h", "AddressAffinity 2h", 0 },
		{ "SessionRetention 7d", "AddressAffinity 8d", 0 },
		{ "SessionRetention 2h", "AddressAffinity 2h", 1 },
		{ "SessionRetention 3h", "AddressAffinity 2h", 1 },
		{ "SessionRetention 0", "AddressAffinity 1w", 1 },
		{ "SessionRetention 1m", "AddressAffinity 0", 1 },
	};
	struct conf *conf;
	char err[ERRLEN];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		conf = conf_new();
		apply_ok(conf, "PublicHost a.example", 0);
		apply_ok(conf, cases[i].retention, 0);
		apply_ok(conf, cases[i].affinity, 0);
		ck_assert_int_eq(conf_finish(conf, err, sizeof(err)),
		    cases[i].ok ? 0 : PORTHOLE_ERR_INVALID_FORMAT);
		conf_free(conf);
	}
	/* The defaults go together; the message says what to do. */
	conf = conf_new();
	apply_ok(conf, "PublicHost a.example", 0);
	ck_assert_int_eq(conf_finish(conf, err, sizeof(err)), 0);
	ck_assert_int_ge(conf->session_retention, conf->address_affinity);
	conf_free(conf);
	conf = conf_new();
	apply_ok(conf, "PublicHost a.example", 0);
	apply_ok(conf, "SessionRetention=1h", 1);
	ck_assert_int_eq(conf_finish(conf, err, sizeof(err)),
	    PORTHOLE_ERR_INVALID_FORMAT);
	ck_assert_str_eq(err,
	    "SessionRetention 3600s is shorter than AddressAffinity 86400s: "
	    "affinity needs the ended sessions it would delete (raise "
	    "SessionRetention, or lower AddressAffinity)");
	conf_free(conf);
}
END_TEST

/* The dump of a finished conf, line for line. */
START_TEST(test_dump_exact)
{
	struct conf *conf = conf_new();
	char err[ERRLEN];
	char *dump;

	apply_ok(conf, "ListenAddress 127.0.0.1:0", 0);
	apply_ok(conf, "ListenAddress [::]:2222", 0);
	apply_ok(conf, "StateDirectory /var/lib/ph", 0);
	apply_ok(conf, "PublicHost a.example", 0);
	apply_ok(conf, "PublicHost 192.0.2.1", 0);
	apply_ok(conf, "SyslogFacility AUTH", 0);
	apply_ok(conf, "NodeName n1.example", 0);
	ck_assert_int_eq(conf_finish(conf, err, sizeof(err)), 0);
	dump = dump_str(conf);
	ck_assert_str_eq(dump,
	    "\n"
	    "listenaddress 127.0.0.1:0\n"
	    "listenaddress [::]:2222\n"
	    "statedirectory /var/lib/ph\n"
	    "database /var/lib/ph/porthole.db\n"
	    "nodename n1.example\n"
	    "region none\n"
	    "hostkey /var/lib/ph/ssh_host_ed25519_key\n"
	    "tokenkey /var/lib/ph/token.key\n"
	    "publichost a.example\n"
	    "publichost 192.0.2.1\n"
	    "tunneladdress 0.0.0.0\n"
	    "portrange 10000-59999\n"
	    "logingracetime 120\n"
	    "nodetimeout 15\n"
	    "maxendpointspersession 16\n"
	    "maxconnectionsperendpoint 1024\n"
	    "loglevel INFO\n"
	    "syslogfacility DAEMON\n"
	    "allowanonymous no\n"
	    "addressaffinity 86400\n"
	    "maxsessionsperaccount 10\n"
	    "maxsessions 1000\n"
	    "eventlog none\n"
	    "eventretention 604800\n"
	    "eventmaxcount 1000000\n"
	    "sessionretention 604800\n"
	    "webhookbatchsize 100\n"
	    "webhooktimeout 10\n"
	    "bandwidthlimit none\n"
	    "transferquota none\n"
	    "connectionratelimit none\n"
	    "maxconnectionspersource none\n"
	    "connectionidletimeout none\n"
	    "metricsaccountlabels no\n"
	    "maxstartups 10:30:100\n"
	    "persourcemaxstartups 10\n"
	    "maxauthtries 6\n"
	    "clientaliveinterval 15\n"
	    "clientalivecountmax 3\n"
	    "persourcepenalties authfail:2,noauth:0,grace-exceeded:10,"
	    "crash:90,min:15,max:600\n"
	    "metricslisten none\n"
	    "apilisten none\n"
	    "apimaxconnections 64\n"
	    "apimaxconnectionspersource 16\n"
	    "apimaxbodysize 1048576\n"
	    "apimaxheadersize 32768\n"
	    "apirequesttimeout 30\n"
	    "apicertificate none\n"
	    "apiprivatekey none\n"
	    "apibaseurl none\n");
	free(dump);
	conf_free(conf);
}
END_TEST

/* The dump with every new keyword set away from its default. */
START_TEST(test_dump_exact_new_keywords)
{
	struct conf *conf = conf_new();
	char err[ERRLEN];
	char *dump;

	apply_ok(conf, "ListenAddress 127.0.0.1:0", 0);
	apply_ok(conf, "NodeName n2", 0);
	apply_ok(conf, "Region us-east", 0);
	apply_ok(conf, "StateDirectory /var/lib/ph", 0);
	apply_ok(conf, "PublicHost a.example", 0);
	apply_ok(conf, "AllowAnonymous yes", 0);
	apply_ok(conf, "AddressAffinity 0", 0);
	apply_ok(conf, "MaxSessionsPerAccount 3", 0);
	apply_ok(conf, "TokenKey \"/etc/ph keys/token.key\"", 0);
	ck_assert_int_eq(conf_finish(conf, err, sizeof(err)), 0);
	dump = dump_str(conf);
	ck_assert_str_eq(dump,
	    "\n"
	    "listenaddress 127.0.0.1:0\n"
	    "statedirectory /var/lib/ph\n"
	    "database /var/lib/ph/porthole.db\n"
	    "nodename n2\n"
	    "region us-east\n"
	    "hostkey /var/lib/ph/ssh_host_ed25519_key\n"
	    "tokenkey \"/etc/ph keys/token.key\"\n"
	    "publichost a.example\n"
	    "tunneladdress 0.0.0.0\n"
	    "portrange 10000-59999\n"
	    "logingracetime 120\n"
	    "nodetimeout 15\n"
	    "maxendpointspersession 16\n"
	    "maxconnectionsperendpoint 1024\n"
	    "loglevel INFO\n"
	    "syslogfacility none\n"
	    "allowanonymous yes\n"
	    "addressaffinity 0\n"
	    "maxsessionsperaccount 3\n"
	    "maxsessions 1000\n"
	    "eventlog none\n"
	    "eventretention 604800\n"
	    "eventmaxcount 1000000\n"
	    "sessionretention 604800\n"
	    "webhookbatchsize 100\n"
	    "webhooktimeout 10\n"
	    "bandwidthlimit none\n"
	    "transferquota none\n"
	    "connectionratelimit none\n"
	    "maxconnectionspersource none\n"
	    "connectionidletimeout none\n"
	    "metricsaccountlabels no\n"
	    "maxstartups 10:30:100\n"
	    "persourcemaxstartups 10\n"
	    "maxauthtries 6\n"
	    "clientaliveinterval 15\n"
	    "clientalivecountmax 3\n"
	    "persourcepenalties authfail:2,noauth:0,grace-exceeded:10,"
	    "crash:90,min:15,max:600\n"
	    "metricslisten none\n"
	    "apilisten none\n"
	    "apimaxconnections 64\n"
	    "apimaxconnectionspersource 16\n"
	    "apimaxbodysize 1048576\n"
	    "apimaxheadersize 32768\n"
	    "apirequesttimeout 30\n"
	    "apicertificate none\n"
	    "apiprivatekey none\n"
	    "apibaseurl none\n");
	free(dump);
	conf_free(conf);
}
END_TEST

/* Feeding a dump back in gives the same dump: it is valid config. */
START_TEST(test_dump_roundtrip)
{
	struct conf *conf = conf_new(), *again = conf_new();
	char err[ERRLEN];
	char *dump, *dump2, *line, *next;

	apply_ok(conf, "ListenAddress [2001:db8::5]:0", 0);
	apply_ok(conf, "ListenAddress 10.1.2.3", 0);
	apply_ok(conf, "StateDirectory \"/tmp/with space\"", 0);
	apply_ok(conf, "PublicHost x.example", 0);
	apply_ok(conf, "TunnelAddress ::1", 0);
	apply_ok(conf, "PortRange 100-200", 0);
	apply_ok(conf, "LoginGraceTime 1d", 0);
	apply_ok(conf, "MaxEndpointsPerSession 999", 0);
	apply_ok(conf, "MaxConnectionsPerEndpoint 2", 0);
	apply_ok(conf, "LogLevel DEBUG2", 0);
	apply_ok(conf, "AllowAnonymous yes", 0);
	apply_ok(conf, "AddressAffinity 1h", 0);
	apply_ok(conf, "MaxSessionsPerAccount 12", 0);
	apply_ok(conf, "TokenKey \"/tmp/with space/token.key\"", 0);
	apply_ok(conf, "BandwidthLimit 3M", 0);
	apply_ok(conf, "TransferQuota 7G/1w", 0);
	apply_ok(conf, "ConnectionRateLimit 30", 0);
	apply_ok(conf, "MaxConnectionsPerSource 4", 0);
	apply_ok(conf, "ConnectionIdleTimeout 1h30m", 0);
	apply_ok(conf, "MetricsAccountLabels yes", 0);
	ck_assert_int_eq(conf_finish(conf, err, sizeof(err)), 0);
	dump = dump_str(conf);
	for (line = dump + 1; *line != '\0'; line = next) {
		next = strchr(line, '\n');
		ck_assert_ptr_nonnull(next);
		*next++ = '\0';
		apply_ok(again, line, 0);
	}
	free(dump);
	ck_assert_int_eq(conf_finish(again, err, sizeof(err)), 0);
	dump = dump_str(conf);
	dump2 = dump_str(again);
	ck_assert_str_eq(dump, dump2);
	free(dump);
	free(dump2);
	conf_free(conf);
	conf_free(again);
}
END_TEST

Suite *conf_suite(void);

/* Build the conf suite: one TCase per function group. */
Suite *
conf_suite(void)
{
	Suite *s = suite_create("conf");
	TCase *tc;

	tc = tcase_create("new");
	tcase_add_test(tc, test_defaults);
	suite_add_tcase(s, tc);

	tc = tcase_create("apply_line");
	tcase_add_loop_test(tc, test_line_ok, 0, NELEM(line_ok));
	tcase_add_loop_test(tc, test_line_ok_cmdline, 0, NELEM(line_ok));
	tcase_add_loop_test(tc, test_line_noop, 0, NELEM(line_noop));
	tcase_add_loop_test(tc, test_line_bad, 0, NELEM(line_bad));
	tcase_add_test(tc, test_limits);
	tcase_add_test(tc, test_errbuf);
	tcase_add_test(tc, test_fields);
	suite_add_tcase(s, tc);

	tc = tcase_create("cmdline");
	tcase_add_test(tc, test_cmdline_first);
	tcase_add_test(tc, test_cmdline_after_file);
	tcase_add_test(tc, test_cmdline_errors);
	tcase_add_test(tc, test_cmdline_new_keywords);
	suite_add_tcase(s, tc);

	tc = tcase_create("load_file");
	tcase_add_test(tc, test_load_file);
	tcase_add_test(tc, test_load_file_user_kept);
	tcase_add_test(tc, test_load_file_cmdline);
	tcase_add_test(tc, test_load_file_cmdline_new_keywords);
	tcase_add_test(tc, test_load_file_bad_line);
	tcase_add_test(tc, test_load_file_nul);
	tcase_add_test(tc, test_load_file_missing);
	suite_add_tcase(s, tc);

	tc = tcase_create("finish");
	tcase_add_test(tc, test_finish_defaults);
	tcase_add_test(tc, test_node_region);
	tcase_add_test(tc, test_finish_paths);
	tcase_add_test(tc, test_finish_duplicate_listen);
	tcase_add_test(tc, test_finish_session_retention);
	tcase_add_test(tc, test_finish_api_tls);
	suite_add_tcase(s, tc);

	tc = tcase_create("dump");
	tcase_add_test(tc, test_dump_exact);
	tcase_add_test(tc, test_dump_database_password);
	tcase_add_test(tc, test_dump_exact_new_keywords);
	tcase_add_test(tc, test_dump_roundtrip);
	suite_add_tcase(s, tc);
	return s;
}

/* Run the conf suite; exit status reflects any failure. */
int
main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(conf_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
