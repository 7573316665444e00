# lb.cmake - tether-lb end to end on loopback (integration): backends and
# clients are Python 3 standard library code in lb_test.py, run with
# /usr/bin/python3 (Debian: python3-minimal). One ctest test per case.
foreach(case balance maglev persist parallel failure failure-midrun limits
		health connect-timeout slowloris slowloris-limit slowloris-client
		udp nofile drain proxyv2 range metrics reload reload-load
		reload-state reload-check-none reload-passive-try drain-down
		reload-persist-counters reload-udp reload-counters
		reload-retry halfclose wlc passive slowstart
		maglev-slowstart maglev-reload badconf
		reload-symlink reload-symlink-include metrics-overlap
		pidfile-relative user-leftover
		datapath-splice datapath-copy nodelay
		half-close-off retry-rst retry-fin urgent reload-relative
		reload-ctl reload-metrics sessions backpressure second-instance
		urgent-splice fin-merge persist-held persist-after-close
		udp-limit udp-idle health-timeout reload-check-schedule
		backlog udp6 persist-mask udp-spray udp-repin
		refused-log reload-overlap reload-overlap-handshake
		metrics-counters
		drain-default startup health-port ctl-timeout ctl-cut ctl-busy
		ctl-socket reload-ctl-gone
		health-passive health-passive-slow-try reload-start-only
		reload-fail-backlog
		udp-connect-fail ctl-dash v4mapped udp-adopt-cap
		udp-pmtu udp-icmp-send udp-error-log maxconns-default
		pipe-budget)
	tether_test(integration.lb-${case} LABEL integration TIMEOUT 120
		COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/lb_test.py
			$<TARGET_FILE:tether-lb> ${case}
			$<TARGET_FILE:tetherctl>)
endforeach()
# v4mapped, udp-pmtu and pipe-budget need a network namespace (root,
# ip(8)): lb_test.py exits 77 without.
set_tests_properties(integration.lb-v4mapped integration.lb-udp-pmtu
	integration.lb-pipe-budget PROPERTIES SKIP_RETURN_CODE 77)
# user-leftover drops to nobody: root only.
set_tests_properties(integration.lb-user-leftover PROPERTIES
	SKIP_RETURN_CODE 77)

# The cases that relay TCP, run again in the passes below with a global
# directive first in every configuration a running tether-lb gets. Left
# out: udp and reload-udp (UDP only: it stays on the epoll loop),
# badconf and startup (-n and start-up errors: nothing is relayed).
# nofile stays in: the ring's own descriptors count against the limit.
set(lb_tcp_cases balance maglev persist parallel failure
	failure-midrun retry-rst retry-fin
	limits health connect-timeout
	slowloris slowloris-limit slowloris-client nofile
	drain proxyv2 range metrics reload reload-load
	reload-state reload-counters reload-retry
	halfclose wlc passive slowstart
	maglev-slowstart maglev-reload datapath-splice
	datapath-copy nodelay half-close-off urgent
	reload-relative reload-ctl reload-metrics fin-merge persist-held
	reload-overlap maxconns-default)

# fin-merge: with kernel-relay-after 1 the kernel relays the reply, and
# its FIN leaves on its own.
set(lb_krelay_pass ${lb_tcp_cases})
list(REMOVE_ITEM lb_krelay_pass urgent fin-merge)

# With `io-uring on` (TETHER_LB_TEST_IO_URING=1, see lb_test.py),
# when tether-lb is built with its io_uring data path: daemons/lb sets
# LB_HAVE_URING on tether_lb when it finds liburing (its LIBURING_FOUND
# is a variable of that directory, not of this one). failure-midrun,
# retry-rst and retry-fin cover the move from io_uring to epoll on a
# backend's error or early FIN (u_switch in proxy.c): lb_test.py wants
# tether_lb_uring_fallbacks_total > 0 from them, and from every case
# of a pass a session on io_uring or moved to the kernel relay
# (check_pass_counts(), PASS_EXEMPT_* for those that relay nothing).
if(TARGET tether_lb)
	get_target_property(lb_defs tether_lb INTERFACE_COMPILE_DEFINITIONS)
	if(lb_defs MATCHES "LB_HAVE_URING")
		foreach(case ${lb_tcp_cases} sessions backpressure
				urgent-splice)
			tether_test(integration.lb-uring-${case} LABEL integration
				TIMEOUT 120
				COMMAND /usr/bin/python3
					${CMAKE_CURRENT_LIST_DIR}/lb_test.py
					$<TARGET_FILE:tether-lb> ${case}
					$<TARGET_FILE:tetherctl>)
			set_tests_properties(integration.lb-uring-${case}
				PROPERTIES ENVIRONMENT TETHER_LB_TEST_IO_URING=1)
		endforeach()
		# The io_uring data path's own cases; lb_test.py exits 77
		# where the kernel refuses io_uring. uring: sessions on it,
		# fallbacks to epoll. uring-nobufs: the buffer ring empty
		# (io-uring-buffers 1), ENOBUFS moves a session to epoll.
		# uring-idle-nobufs: the buffer ring empty, a session that
		# receives nothing keeps to io_uring (its receives poll
		# first). uring-off: a reload to io-uring off frees the ring
		# after its last session; back on, a new one. krelay-uring:
		# the kernel relay beside the io_uring data path (the
		# sessions case on moved sessions).
		foreach(case uring uring-nobufs uring-idle-nobufs uring-off
				krelay-uring)
			tether_test(integration.lb-${case} LABEL integration
				TIMEOUT 120
				COMMAND /usr/bin/python3
					${CMAKE_CURRENT_LIST_DIR}/lb_test.py
					$<TARGET_FILE:tether-lb> ${case}
					$<TARGET_FILE:tetherctl>)
			set_tests_properties(integration.lb-${case} PROPERTIES
				SKIP_RETURN_CODE 77)
		endforeach()
	endif()
endif()

# The kernel relay (`kernel-relay on`: long sessions move to a BPF
# sockmap). lb_test.py exits 77 where the kernel refuses BPF sockmaps
# (no CAP_BPF/CAP_NET_ADMIN, no CONFIG_BPF_STREAM_PARSER).
# krelay: the sessions case on moved sessions (relay, half-close, idle,
# resets, reload, byte counts; then kernel-relay off moves nothing).
# krelay-onoff: reloads that turn it on and off (not "krelay-reload":
# the pass below has that name for case reload). krelay-backpressure:
# the backpressure case on a moved session (kernel-relay-window 512k:
# at most 32 MiB taken, every byte in order). krelay-window:
# kernel-relay-window 16k, slow readers both ways: the session pauses
# and every byte arrives. krelay-urgent: an urgent byte on a moved
# session: every byte after the mark arrives, or an error is logged.
# krelay-user: `user nobody`: the BPF set-up comes before the drop.
# krelay-overlap: made-up retransmissions (a raw socket on lo) that
# overlap bytes already received: the verdict cuts the head off (the
# backend's checksum is whole, the log says 9200 bytes cut); one over
# bytes read before the move resets the session. krelay-full: a
# reload raising max-conns leaves the maps' room as it was; a session
# that finds them full stays in user space, whole. krelay-ring-full:
# the verdict's notices overflow its ring buffer while tether-lb is
# stopped; every byte of 160 moved sessions comes back whole.
foreach(case krelay krelay-onoff krelay-backpressure krelay-window
		krelay-urgent krelay-user krelay-overlap krelay-full
		krelay-ring-full)
	tether_test(integration.lb-${case} LABEL integration TIMEOUT 120
		COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/lb_test.py
			$<TARGET_FILE:tether-lb> ${case}
			$<TARGET_FILE:tetherctl>)
	set_tests_properties(integration.lb-${case} PROPERTIES
		SKIP_RETURN_CODE 77)
endforeach()

# The TCP cases again with `kernel-relay on` and `kernel-relay-after 1`
# first (TETHER_LB_TEST_KERNEL_RELAY=1): every session that can moves
# after its first read. Each exits 77 where the kernel refuses BPF
# sockmaps (the pass would repeat the plain one).
foreach(case ${lb_krelay_pass})
	tether_test(integration.lb-krelay-${case} LABEL integration
		TIMEOUT 120
		COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/lb_test.py
			$<TARGET_FILE:tether-lb> ${case}
			$<TARGET_FILE:tetherctl>)
	set_tests_properties(integration.lb-krelay-${case} PROPERTIES
		ENVIRONMENT TETHER_LB_TEST_KERNEL_RELAY=1
		SKIP_RETURN_CODE 77)
endforeach()

# The example configuration shipped in examples/ stays valid.
tether_test(integration.lb-example LABEL integration
	COMMAND $<TARGET_FILE:tether-lb> -n -f
		${PROJECT_SOURCE_DIR}/examples/lb.conf)
set_tests_properties(integration.lb-example PROPERTIES
	PASS_REGULAR_EXPRESSION "^configuration OK\n$")

# With no arguments and no configuration file it starts with no services.
tether_test(integration.lb-noargs LABEL integration TIMEOUT 60
	COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/lb_noargs.sh $<TARGET_FILE:tether-lb>)

# System calls per proxied connection, counted with strace: the backend's
# FIN that came with its reply costs no extra read, and an accepted socket
# no setsockopt(TCP_NODELAY).
tether_test(integration.lb-syscalls LABEL integration TIMEOUT 60
	COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/lb_syscalls.py
		$<TARGET_FILE:tether-lb>)
