/*
 * tetherctl.c - the control tool of tether's daemons: sends one command
 * line to a daemon's control socket and prints the answer. For
 * tether-lb: show services | show backends [SERVICE] | show persist
 * SERVICE [CLIENT] | drain SERVICE/BACKEND [DURATION] | enable ... |
 * disable ...
 * For tether-portmap (-s its `control` path): show registrations |
 * calls | rejected | forwarding | prune | all.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define DEFAULT_SOCKET "/run/tether-lb.sock"

static void
usage(FILE *f)
{
	fprintf(f, "usage: tetherctl [-s SOCKET] COMMAND [ARG...]\n"
		"  -s, --socket SOCKET   the daemon's control socket\n"
		"  -h, --help            show this help\n"
		"  tether-lb commands:\n"
		"    show services\n"
		"    show backends [SERVICE]\n"
		"    show persist SERVICE [CLIENT]\n"
		"    drain SERVICE/BACKEND [DURATION]\n"
		"    enable SERVICE/BACKEND\n"
		"    disable SERVICE/BACKEND\n"
		"  tether-portmap commands (-s its control socket):\n"
		"    show registrations | calls | rejected | forwarding | prune\n"
		"    show all\n"
		"  SOCKET defaults to " DEFAULT_SOCKET ".\n");
}

int
main(int argc, char **argv)
{
	const char *path = DEFAULT_SOCKET;
	struct sockaddr_un sun;
	char line[1024], buf[4096];
	size_t len = 0;
	int fd, i, ch, first = 1, status = 0;
	ssize_t n;

	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "socket", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 }
	};

	while ((ch = getopt_long(argc, argv, "hs:", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			path = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind == argc) {
		usage(stderr);
		return 2;
	}
	for (i = optind; i < argc; i++) {
		int w = snprintf(line + len, sizeof(line) - len, "%s%s",
				 i > optind ? " " : "", argv[i]);

		if (w < 0 || (size_t)w >= sizeof(line) - len - 1) {
			fprintf(stderr, "tetherctl: command too long\n");
			return 2;
		}
		len += (size_t)w;
	}
	line[len++] = '\n';
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "tetherctl: %s: path too long\n", path);
		return 1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		fprintf(stderr, "tetherctl: %s: %s\n", path, strerror(errno));
		return 1;
	}
	if (write(fd, line, len) != (ssize_t)len) {
		fprintf(stderr, "tetherctl: %s: %s\n", path, strerror(errno));
		close(fd);
		return 1;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (first && strncmp(buf, "error:", (size_t)n < 6 ?
				     (size_t)n : 6) == 0)
			status = 1;
		first = 0;
		fwrite(buf, 1, (size_t)n, stdout);
	}
	if (n < 0) {
		fprintf(stderr, "tetherctl: %s: %s\n", path, strerror(errno));
		status = 1;
	}
	close(fd);
	return status;
}
