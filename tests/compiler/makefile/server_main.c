/*
 * server_main.c - the user's main() that tether-rpcgen's Makefile
 * template expects in SOURCES_SVC.c: registers every program of all.x,
 * which the runtime stand-in (rt_stub.c) dispatches once per procedure
 * into the sample server (makefile.sh).
 */
#include <stdio.h>

#include "all.h"

unsigned long rt_stub_calls(void);

int
main(void)
{
	if (allprog_1_register(NULL) != 0 || allprog_2_register(NULL) != 0 ||
	    otherprog_1_register(NULL) != 0)
		return 1;
	printf("server: %lu procedures\n", rt_stub_calls());
	return 0;
}
