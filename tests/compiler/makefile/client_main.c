/*
 * client_main.c - the user's main() that tether-rpcgen's Makefile
 * template expects in SOURCES_CLNT.c (the samples have none): runs the
 * sample client's calls of every program of all.x (makefile.sh).
 */
#include <stdio.h>

#include "all.h"

void allprog_1_sample(struct tether_rpc_client *cl, struct tether_arena *a);
void allprog_2_sample(struct tether_rpc_client *cl, struct tether_arena *a);
void otherprog_1_sample(struct tether_rpc_client *cl,
			struct tether_arena *a);
unsigned long rt_stub_calls(void);

int
main(void)
{
	struct tether_arena *a = tether_arena_new(0, 1u << 20);

	if (a == NULL)
		return 2;
	allprog_1_sample(NULL, a);
	allprog_2_sample(NULL, a);
	otherprog_1_sample(NULL, a);
	tether_arena_free(a);
	printf("client: %lu calls\n", rt_stub_calls());
	return 0;
}
