/*
 * The web dashboard in a real browser: Debian's chromium, headless,
 * driven by puppeteer-core. Started by tests/integration/dashboard.sh,
 * which runs portholed and the ssh client; the two talk by lines, this
 * script's on stdout and the shell's on stdin:
 *
 *   → reserved ADDR ID        reserved on the page (Enter in the form)
 *   ← ssh-up                  ssh -R ADDR's port is forwarding
 *   → endpoint URL SESSION    its endpoint appeared on the page by itself
 *   ← conn BYTES_IN BYTES_OUT a connection went through and closed
 *   → inspected               the inspector shows it, live
 *   → policy-attached         an IP policy denying 127.0.0.9 is on ADDR
 *   ← denied                  a client from 127.0.0.9 was refused
 *   → inspected-deny          the inspector shows it as "deny"
 *   → stopped SESSION         the page's Stop button was pressed (204)
 *   ← ssh-exited              the ssh client exited
 *   → done                    the page shows the session and endpoint gone
 *
 * Environment: PORTHOLE_URL (http://127.0.0.1:PORT), PORTHOLE_KEY (an
 * administrator's API key), PORTHOLE_ACCOUNT (the account to reserve
 * for), PORTHOLE_ACCOUNT_KEY (that account's key, optional), CHROMIUM (default /usr/bin/chromium), PH_TMP (the browser's
 * profile and, on failure, a screenshot). Exit 0 pass, 1 fail.
 *
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 */
'use strict';

const path = require('path');
const readline = require('readline');
const puppeteer = require('puppeteer-core');

const BASE = process.env.PORTHOLE_URL;
const KEY = process.env.PORTHOLE_KEY;
const ACCOUNT = process.env.PORTHOLE_ACCOUNT || '';
const ACCOUNT_KEY = process.env.PORTHOLE_ACCOUNT_KEY || '';
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const TMP = process.env.PH_TMP || require('os').tmpdir();
const WAIT_MS = Number(process.env.DASHBOARD_WAIT_MS) || 30000;

let browser = null;
let page = null;
const problems = []; /* console errors, page errors, failed requests */

function say(line) {
  process.stdout.write(line + '\n');
}

function log(msg) {
  process.stderr.write('dashboard.test: ' + msg + '\n');
}

/* Lines from the shell, one at a time. */
const lines = [];
let lineWaiter = null;
let stdinClosed = false;
const rl = readline.createInterface({ input: process.stdin });
rl.on('line', (l) => {
  lines.push(l);
  if (lineWaiter)
    lineWaiter();
});
rl.on('close', () => {
  stdinClosed = true;
  if (lineWaiter)
    lineWaiter();
});

async function expectLine(word) {
  const deadline = Date.now() + 4 * WAIT_MS;
  for (;;) {
    if (lines.length) {
      const l = lines.shift();
      const parts = l.split(' ');
      if (parts[0] !== word)
        throw new Error('expected "' + word + '" from the shell, got "' +
          l + '"');
      return parts.slice(1);
    }
    if (stdinClosed)
      throw new Error('the shell went away before "' + word + '"');
    if (Date.now() > deadline)
      throw new Error('no "' + word + '" from the shell');
    await new Promise((resolve) => {
      lineWaiter = resolve;
      setTimeout(resolve, 1000);
    });
    lineWaiter = null;
  }
}

function fail(msg) {
  throw new Error(msg);
}

/* Wait until fn(arg) is truthy in the page; return its value. */
async function until(what, fn, arg) {
  try {
    const h = await page.waitForFunction(fn, { timeout: WAIT_MS, polling: 100 },
      arg);
    return await h.jsonValue();
  } catch (e) {
    fail('timed out waiting for ' + what + ' (' + e.message + ')');
  }
  return null;
}

async function notice() {
  return page.$eval('#notice', (n) => n.hidden ? '' : n.textContent);
}

/* Go to a page by keyboard: focus its nav link and press Enter. */
async function gotoPage(name, heading) {
  await page.focus('#nav a[data-page="' + name + '"]');
  await page.keyboard.press('Enter');
  await until('the ' + name + ' page', (h) => {
    const el = document.querySelector('#view h1');
    return el && el.textContent === h && location.hash === '#/' +
      document.querySelector('#nav a[aria-current="page"]').dataset.page;
  }, heading);
  await checkControls(name);
}

/* After a reload: logged in again with the key from sessionStorage. */
async function loggedIn() {
  await until('the page to log in again', () =>
    !document.querySelector('#nav').hidden &&
    document.querySelector('#live').classList.contains('on'));
}

/* Every control of the page has a name a screen reader can say, and
 * every one can take the keyboard's focus. */
async function checkControls(name) {
  const bad = await page.evaluate(() => {
    const out = [];
    for (const el of document.querySelectorAll('input, select, button, a')) {
      if (el.closest('[hidden]'))
        continue;
      const label = el.labels && el.labels.length ? el.labels[0].textContent :
        el.getAttribute('aria-label') || el.textContent;
      if (!label || !label.trim())
        out.push(el.outerHTML.slice(0, 80) + ': no name');
      if (el.tabIndex < 0 || el.disabled)
        out.push(el.outerHTML.slice(0, 80) + ': not focusable');
    }
    return out;
  });
  if (bad.length)
    fail('the ' + name + ' page has controls without a name or the focus:\n  ' +
      bad.join('\n  '));
}

/* The page must fit a phone's width: no sideways scrolling. (Turning
 * isMobile on or off reloads the page.) */
async function checkPhone(name, heading) {
  await page.setViewport({ width: 375, height: 740, isMobile: true,
    hasTouch: true, deviceScaleFactor: 2 });
  await loggedIn();
  await gotoPage(name, heading);
  const w = await page.evaluate(() => [document.documentElement.scrollWidth,
    window.innerWidth]);
  if (w[0] > w[1] + 1)
    fail('the ' + name + ' page is ' + w[0] + ' px wide on a ' + w[1] +
      ' px phone');
  await page.setViewport({ width: 1280, height: 900 });
  await loggedIn();
}

async function main() {
  if (!BASE || !KEY)
    fail('PORTHOLE_URL and PORTHOLE_KEY must be set');
  browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    userDataDir: path.join(TMP, 'chromium-profile'),
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu',
      '--no-first-run', '--no-default-browser-check',
      '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--metrics-recording-only']
  });
  page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 900 });
  page.on('console', (m) => {
    if (m.type() === 'error')
      problems.push('console: ' + m.text());
  });
  page.on('pageerror', (e) => problems.push('page error: ' + e.message));
  page.on('requestfailed', (r) => {
    /* The stream is cut when the page is left; chromium calls a 204
     * answer to fetch() "aborted" too. */
    const why = (r.failure() && r.failure().errorText) || '';
    if (!/\/events\/stream/.test(r.url()) && why !== 'net::ERR_ABORTED')
      problems.push('request failed: ' + r.url() + ' ' +
        (r.failure() && r.failure().errorText));
  });
  page.on('request', (r) => {
    if (!r.url().startsWith(BASE) && !r.url().startsWith('data:'))
      problems.push('a request elsewhere: ' + r.url());
  });

  /* The page, with its security policy. */
  const res = await page.goto(BASE + '/', { waitUntil: 'load' });
  if (res.status() !== 200)
    fail('GET / answered ' + res.status());
  const csp = res.headers()['content-security-policy'] || '';
  if (!/default-src 'self'/.test(csp))
    fail('GET / has no Content-Security-Policy default-src \'self\': "' +
      csp + '"');

  /* A wrong key is refused with the server's message. */
  await until('the login form', () => document.activeElement &&
    document.activeElement.id === 'login-key');
  await page.keyboard.type('phk_notakey');
  await page.keyboard.press('Enter');
  const refused = await until('a refusal', () => {
    const n = document.querySelector('#notice');
    return !n.hidden && n.textContent;
  });
  if (!/refused/i.test(refused))
    fail('a wrong key gave "' + refused + '"');
  /* The 401 itself is a console error in chromium: not a problem. */
  for (let i = problems.length - 1; i >= 0; i--)
    if (/401/.test(problems[i]))
      problems.splice(i, 1);
  log('a wrong key is refused: ' + refused);

  /* Log in with the keyboard: the field has the focus, Enter submits. */
  await page.$eval('#login-key', (el) => el.select());
  await page.keyboard.type(KEY);
  await page.keyboard.press('Enter');
  await until('the endpoints page after login', () =>
    !document.querySelector('#nav').hidden &&
    document.querySelector('#endpoints-table') !== null);
  if (await page.evaluate(() => sessionStorage.getItem('porthole.apikey')) !==
    KEY)
    fail('the key is not in sessionStorage');
  await until('the live stream', () =>
    document.querySelector('#live').classList.contains('on'));
  log('logged in; the event stream is live');

  /* Reserve an address: fill the form, Enter in a field. */
  await gotoPage('addresses', 'TCP addresses');
  await until('the account list', (a) => {
    const sel = document.querySelector('#reserve-account');
    return sel && !document.querySelector('#reserve-account').closest(
      '.field').hidden && [...sel.options || []].some((o) =>
      o.textContent === a);
  }, ACCOUNT);
  await page.$eval('#reserve-account', (sel, a) => {
    for (const o of sel.options)
      if (o.textContent === a)
        sel.value = o.value;
  }, ACCOUNT);
  const descr = 'browser ' + Date.now();
  await page.focus('#reserve-metadata');
  await page.keyboard.type('{"from":"dashboard.test"}');
  await page.focus('#reserve-description');
  await page.keyboard.type(descr);
  await page.keyboard.press('Enter');
  const reserved = await until('the reserved address in the table', (d) => {
    for (const tr of document.querySelectorAll('#addresses-table tbody tr')) {
      const c = tr.querySelector('[data-col="description"]');
      if (c && c.textContent === d)
        return [tr.dataset.id,
          tr.querySelector('[data-col="addr"]').textContent];
    }
    return null;
  }, descr);
  const [raId, addr] = reserved;
  if (!/^ra_/.test(raId) || !/^[0-9.]+:[0-9]+$/.test(addr))
    fail('reserved "' + addr + '" (' + raId + ')');
  log('reserved ' + addr + ': ' + await notice());

  /* Edit it: the description changes, on the page and in the API. */
  await page.click('#addresses-table tr[data-id="' + raId + '"] button' +
    '[aria-label^="Edit"]');
  await until('the editor', () => !document.querySelector('#edit-panel')
    .hidden && document.activeElement.id === 'edit-description');
  await page.select('#edit-proxy', '2');
  await page.focus('#edit-description');
  await page.$eval('#edit-description', (el) => el.select());
  await page.keyboard.type(descr + ' (edited)');
  await page.keyboard.press('Enter');
  await until('the edited description and PROXY v2', (a) => {
    const tr = document.querySelector('#addresses-table tr[data-id="' +
      a[0] + '"]');
    return tr && tr.querySelector('[data-col="description"]').textContent ===
      a[1] && tr.querySelector('[data-col="proxy"]').textContent === 'v2' &&
      document.querySelector('#edit-panel').hidden;
  }, [raId, descr + ' (edited)']);
  /* Back to no PROXY header: the shell's echo service expects none. */
  await page.click('#addresses-table tr[data-id="' + raId + '"] button' +
    '[aria-label^="Edit"]');
  await until('the editor again', () => !document.querySelector(
    '#edit-panel').hidden);
  await page.select('#edit-proxy', '0');
  await page.focus('#edit-metadata');
  await page.keyboard.press('Enter');
  await until('PROXY off', (id) => {
    const tr = document.querySelector('#addresses-table tr[data-id="' +
      id + '"]');
    return tr && tr.querySelector('[data-col="proxy"]').textContent ===
      'off' && document.querySelector('#edit-panel').hidden;
  }, raId);
  say('reserved ' + addr + ' ' + raId);

  /* The endpoint appears by itself once ssh forwards the address. */
  await gotoPage('endpoints', 'Live endpoints');
  await expectLine('ssh-up');
  const url = 'tcp://' + addr;
  const session = await until('the endpoint ' + url, (u) => {
    for (const tr of document.querySelectorAll('#endpoints-table tbody tr')) {
      const c = tr.querySelector('[data-col="url"]');
      if (c && c.textContent === u)
        return tr.querySelector('[data-col="session"]').textContent;
    }
    return null;
  }, url);
  say('endpoint ' + url + ' ' + session);
  log('the endpoint ' + url + ' of session ' + session + ' appeared');

  /* A connection through it, in the inspector, live. */
  await gotoPage('inspector', 'TCP traffic inspector');
  const [bin, bout] = await expectLine('conn');
  const row = await until('the connection in the inspector', (u) => {
    for (const tr of document.querySelectorAll('#inspector-table tbody tr')) {
      const c = tr.querySelector('[data-col="url"]');
      if (c && c.textContent === u) {
        const v = (k) => tr.querySelector('[data-col="' + k + '"]');
        return {
          client: v('client').textContent,
          in: v('in').dataset.value,
          out: v('out').dataset.value,
          decision: v('decision').textContent,
          duration: v('duration').textContent
        };
      }
    }
    return null;
  }, url);
  if (row.in !== bin || row.out !== bout)
    fail('the inspector shows ' + row.in + '/' + row.out + ' bytes, not ' +
      bin + '/' + bout);
  if (!/^127\.0\.0\.1:[0-9]+$/.test(row.client) || row.decision !== 'allow')
    fail('the inspector shows client ' + row.client + ', ' + row.decision);
  /* The filter: the endpoint's URL keeps it, another hides it. */
  await page.focus('#filter-text');
  await page.keyboard.type('203.0.113.');
  await page.keyboard.press('Enter');
  await until('the filter to hide it', () => document.querySelector(
    '#inspector-table tbody tr.none') !== null);
  await page.$eval('#filter-text', (el) => el.select());
  await page.keyboard.type(addr);
  await page.keyboard.press('Enter');
  await until('the filter to show it', (u) => [...document.querySelectorAll(
    '#inspector-table [data-col="url"]')].some((c) => c.textContent === u),
  url);
  /* The charts count it. */
  await until('the connections chart', () => {
    const s = document.querySelector('.chart svg[aria-label^="Connections"]');
    return s && /: [1-9][0-9]*,/.test(s.getAttribute('aria-label')) &&
      s.querySelector('rect') !== null;
  });
  say('inspected');
  log('the inspector shows ' + JSON.stringify(row));

  await checkPhone('inspector', 'TCP traffic inspector');
  /* That reloaded the page: the connection is back, from /events. */
  await until('the connection after a reload (from /events)', (u) =>
    [...document.querySelectorAll('#inspector-table [data-col="url"]')]
      .some((c) => c.textContent === u), url);
  await checkPhone('sessions', 'Sessions');

  /* An IP policy that denies 127.0.0.9: create it (a bad rule shows the
   * server's reason), attach it to the address in the editor. */
  await gotoPage('policies', 'IP policies');
  await page.focus('#policy-name');
  await page.keyboard.type('browser-test');
  await page.keyboard.press('Enter');
  const pid = await until('the new policy', () => {
    for (const c of document.querySelectorAll('#policies section.card'))
      if (c.querySelector('h2').textContent === 'browser-test')
        return c.dataset.id;
    return null;
  });
  await page.focus('#rule-cidr-' + pid);
  await page.keyboard.type('not-a-cidr');
  await page.keyboard.press('Enter');
  const why = await until('the refusal of a bad CIDR', () => {
    const n = document.querySelector('#notice');
    return !n.hidden && n.classList.contains('error') && n.textContent;
  });
  if (!/not-a-cidr|CIDR|cidr/.test(why))
    fail('a bad CIDR gave "' + why + '"');
  for (let i = problems.length - 1; i >= 0; i--)
    if (/status of 400/.test(problems[i]))
      problems.splice(i, 1);
  await page.select('#rule-action-' + pid, 'deny');
  await page.focus('#rule-cidr-' + pid);
  await page.$eval('#rule-cidr-' + pid, (el) => el.select());
  await page.keyboard.type('127.0.0.9/32');
  await page.keyboard.press('Enter');
  await until('the rule', (id) => {
    const c = document.querySelector('#policies section[data-id="' + id +
      '"]');
    return c && [...c.querySelectorAll('[data-col="cidr"]')].some((td) =>
      td.textContent === '127.0.0.9/32' && td.parentNode.querySelector(
        '[data-col="action"]').textContent === 'deny');
  }, pid);
  await gotoPage('addresses', 'TCP addresses');
  const editBtn = '#addresses-table tr[data-id="' + raId + '"] button' +
    '[aria-label^="Edit"]';
  await until('the address row', (sel) => document.querySelector(sel),
    editBtn);
  await page.click(editBtn);
  await until('the policy among the choices', (id) => !document
    .querySelector('#edit-panel').hidden && [...document.querySelector(
    '#edit-policy').options].some((o) => o.value === id), pid);
  await page.select('#edit-policy', pid);
  await page.focus('#edit-description');
  await page.keyboard.press('Enter');
  await until('the address with its policy', (id) => {
    const tr = document.querySelector('#addresses-table tr[data-id="' +
      id + '"]');
    return tr && tr.querySelector('[data-col="policy"]').textContent ===
      'browser-test' && document.querySelector('#edit-panel').hidden;
  }, raId);
  log('an IP policy made on the page, attached to ' + addr + ' (a bad ' +
    'CIDR: ' + why + ')');
  say('policy-attached');

  /* The shell's client from 127.0.0.9 is refused: a "deny" row. */
  await gotoPage('inspector', 'TCP traffic inspector');
  await expectLine('denied');
  const denied = await until('the denied connection', (u) => {
    for (const tr of document.querySelectorAll('#inspector-table tbody tr')) {
      const v = (k) => tr.querySelector('[data-col="' + k + '"]');
      if (v('url') && v('url').textContent === u &&
        /^127\.0\.0\.9:/.test(v('client').textContent))
        return v('decision').textContent;
    }
    return null;
  }, url);
  if (denied !== 'deny')
    fail('the connection from 127.0.0.9 shows "' + denied + '"');
  await page.select('#filter-decision', 'deny');
  await page.$eval('#filter-text', (el) => { el.value = ''; });
  await page.focus('#filter-text');
  await page.keyboard.press('Enter');
  await until('only denied connections', () => {
    const rows = [...document.querySelectorAll('#inspector-table tbody ' +
      'tr[data-id]')];
    return rows.length > 0 && rows.every((tr) => tr.querySelector(
      '[data-col="decision"]').textContent === 'deny');
  });
  await until('the connections chart to count the denied one', () => {
    const s = document.querySelector('.chart svg[aria-label^="Connections"]');
    return s && /, [1-9][0-9]* denied$/.test(s.getAttribute('aria-label'));
  });
  say('inspected-deny');
  log('the refused connection from 127.0.0.9 shows as "deny"');

  /* Stop the session from the page; ssh exits. */
  await gotoPage('sessions', 'Sessions');
  const stop = 'tr[data-id="' + session + '"] button[aria-label^="Stop"]';
  await until('the session ' + session, (s) => document.querySelector(s),
    stop);
  await page.focus(stop);
  await page.keyboard.press('Enter');
  await until('the stop to be confirmed', (s) => {
    const n = document.querySelector('#notice');
    return !n.hidden && n.textContent.indexOf(s) >= 0 && n.textContent;
  }, session);
  say('stopped ' + session);
  await expectLine('ssh-exited');
  await until('the session to leave the page', (s) =>
    document.querySelector('#sessions-table tr[data-id="' + s + '"]') ===
      null, session);
  await gotoPage('endpoints', 'Live endpoints');
  await until('the endpoint to leave the page', (u) => ![...document
    .querySelectorAll('#endpoints-table [data-col="url"]')].some((c) =>
    c.textContent === u), url);

  /* Delete the address (press twice: the second confirms). */
  await gotoPage('addresses', 'TCP addresses');
  const del = '#addresses-table tr[data-id="' + raId + '"] button.danger';
  await until('the address row', (s) => document.querySelector(s), del);
  await page.click(del);
  await page.click(del);
  await until('the address to leave the page', (id) => document
    .querySelector('#addresses-table tr[data-id="' + id + '"]') === null,
  raId);

  /* The policy goes once nothing uses it (the address is gone). */
  await gotoPage('policies', 'IP policies');
  const delPolicy = '#policies section[data-id="' + pid + '"] > button.danger';
  await until('the policy', (sel) => document.querySelector(sel), delPolicy);
  await page.click(delPolicy);
  await page.click(delPolicy);
  await until('the policy to go', (id) => document.querySelector(
    '#policies section[data-id="' + id + '"]') === null, pid);
  log('the IP policy deleted after its address');

  /* An edge for alice: create it, see it, delete it. */
  await gotoPage('edges', 'Edges');
  const edescr = 'edge ' + Date.now();
  await page.focus('#edge-backends');
  await page.keyboard.type(ACCOUNT);
  await page.focus('#edge-description');
  await page.keyboard.type(edescr);
  await page.keyboard.press('Enter');
  const edge = await until('the new edge', (d) => {
    for (const tr of document.querySelectorAll('#edges-table tbody tr')) {
      const c = tr.querySelector('[data-col="description"]');
      if (c && c.textContent === d)
        return [tr.dataset.id,
          tr.querySelector('[data-col="backend"]').textContent,
          tr.querySelector('[data-col="hostports"]').textContent];
    }
    return null;
  }, edescr);
  if (edge[1] !== ACCOUNT || !/:[0-9]+$/.test(edge[2]))
    fail('the edge shows backend "' + edge[1] + '", addresses "' + edge[2] +
      '"');
  const delEdge = '#edges-table tr[data-id="' + edge[0] + '"] button.danger';
  await page.click(delEdge);
  await page.click(delEdge);
  await until('the edge to go', (id) => document.querySelector(
    '#edges-table tr[data-id="' + id + '"]') === null, edge[0]);
  log('an edge for ' + ACCOUNT + ' on ' + edge[2] + ' made and deleted');

  /* Log out: the key is forgotten. */
  await page.click('#logout');
  await until('the login form again', () =>
    !document.querySelector('#login').hidden &&
    sessionStorage.getItem('porthole.apikey') === null);

  /* An account's key: no administrator's pages, no account field. */
  if (ACCOUNT_KEY) {
    await page.focus('#login-key');
    await page.keyboard.type(ACCOUNT_KEY);
    await page.keyboard.press('Enter');
    await until('the endpoints page for the account', () =>
      !document.querySelector('#nav').hidden &&
      document.querySelector('#endpoints-table') !== null);
    const hidden = await page.$$eval('#nav [data-admin]', (as) =>
      as.every((a) => a.closest('li').hidden));
    if (!hidden)
      fail('an account\'s key is offered the administrator\'s pages');
    await gotoPage('addresses', 'TCP addresses');
    await page.waitForSelector('#addresses-table');
    if (!await page.$eval('#reserve-account', (el) =>
      el.closest('.field').hidden))
      fail('an account\'s key is asked for an account');
    /* The 403 that tells the page it is not an administrator. */
    for (let i = problems.length - 1; i >= 0; i--)
      if (/status of 403/.test(problems[i]))
        problems.splice(i, 1);
    await page.click('#logout');
    await until('the login form after the account', () =>
      !document.querySelector('#login').hidden);
    log('an account\'s key sees no administrator\'s pages');
  }

  if (problems.length)
    fail('the browser reported:\n  ' + problems.join('\n  '));
  say('done');
}

main().then(async () => {
  await browser.close();
  process.exit(0);
}, async (e) => {
  log('FAIL: ' + e.message);
  if (problems.length)
    log('the browser reported:\n  ' + problems.join('\n  '));
  try {
    if (page) {
      const shot = path.join(TMP, 'dashboard-failure.png');
      await page.screenshot({ path: shot, fullPage: true });
      log('screenshot: ' + shot);
      log('page text:\n' + await page.evaluate(() =>
        document.body.innerText.slice(0, 3000)));
    }
  } catch (e2) {
    /* nothing more to show */
  }
  if (browser)
    await browser.close().catch(() => {});
  process.exit(1);
});
