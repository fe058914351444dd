dnl PORTHOLE_CHECK_CFLAG(FLAG): append FLAG to CFLAGS if the compiler
dnl accepts it without a warning (modelled on OpenSSH's
dnl OSSH_CHECK_CFLAG_COMPILE: -Werror so that "unknown option" warnings
dnl count as failures).
AC_DEFUN([PORTHOLE_CHECK_CFLAG], [
	AC_MSG_CHECKING([if $CC supports $1])
	porthole_saved_CFLAGS="$CFLAGS"
	CFLAGS="$CFLAGS -Werror $1"
	AC_COMPILE_IFELSE([AC_LANG_SOURCE([[
#include <stdio.h>
int main(int argc, char **argv) { (void)argv; printf("%d\n", argc); return 0; }
]])], [AC_MSG_RESULT([yes])
	CFLAGS="$porthole_saved_CFLAGS $1"],
	[AC_MSG_RESULT([no])
	CFLAGS="$porthole_saved_CFLAGS"])
])

dnl PORTHOLE_CHECK_LDFLAG(FLAG): append FLAG to LDFLAGS if linking works.
AC_DEFUN([PORTHOLE_CHECK_LDFLAG], [
	AC_MSG_CHECKING([if $CC supports link flag $1])
	porthole_saved_LDFLAGS="$LDFLAGS"
	LDFLAGS="$LDFLAGS -Werror $1"
	AC_LINK_IFELSE([AC_LANG_SOURCE([[
#include <stdio.h>
int main(int argc, char **argv) { (void)argv; printf("%d\n", argc); return 0; }
]])], [AC_MSG_RESULT([yes])
	LDFLAGS="$porthole_saved_LDFLAGS $1"],
	[AC_MSG_RESULT([no])
	LDFLAGS="$porthole_saved_LDFLAGS"])
])
