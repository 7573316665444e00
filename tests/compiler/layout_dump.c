/*
 * layout_dump.c - the layout test's first half: built against Debian
 * rpcgen's header for a .x file, it prints rpcgen's sizes, alignments,
 * offsets and signedness as C11 _Static_asserts, which layout_check.c
 * then compiles against tether-rpcgen's header (layout.sh).
 */
#include <stddef.h>
#include <stdio.h>

/* rpcgen writes "quadruple" for XDR quadruple but no C type exists for
 * it (its header does not compile): stand in with 16 bytes, byte
 * aligned, like struct tether_xdr_quad. */
typedef struct {
	unsigned char bytes[16];
} quadruple;

#include HDR

#define TXDR_LAYOUT_ALIGN(T)                                               \
	printf("_Static_assert(_Alignof(" #T ") == %zu, \"_Alignof(" #T   \
	       ")\");\n",                                                    \
	       (size_t)_Alignof(T));
#define TXDR_LAYOUT_SIZE(T, e)                                             \
	printf("_Static_assert(sizeof((*(" #T " *)0)" #e ") == %zu, "      \
	       "\"sizeof " #T #e "\");\n",                                   \
	       sizeof((*(T *)0)e));
#define TXDR_LAYOUT_OFFSET(T, m)                                           \
	printf("_Static_assert(offsetof(" #T ", " #m ") == %zu, "          \
	       "\"offsetof " #T " " #m "\");\n",                             \
	       offsetof(T, m));
#define TXDR_LAYOUT_SIGNED(T, e)                                           \
	printf("_Static_assert(((__typeof__((*(" #T " *)0)" #e "))-1 < 0) " \
	       "== %d, \"signedness of " #T #e "\");\n",                     \
	       (int)((__typeof__((*(T *)0)e))-1 < 0));

int
main(void)
{
#include LAYOUT
	return 0;
}
