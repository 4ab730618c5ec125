// libedit from Debian's libedit-dev (BSD licence): line editing, history and completion
// for the REPL through its readline-compatible interface.
#include <stdio.h>
#include <editline/readline.h>
