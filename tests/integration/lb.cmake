# lb.cmake - tether-lb end to end on loopback (integration): backends and
# clients are Python 3 standard library code in lb_test.py, run with
# /usr/bin/python3 (Debian: python3-minimal). One ctest test per case.
foreach(case balance maglev persist parallel failure failure-midrun limits
		health connect-timeout slowloris slowloris-limit slowloris-client
		udp nofile drain proxyv2 range metrics reload reload-load
		reload-state reload-udp halfclose wlc passive slowstart
		maglev-slowstart maglev-reload badconf
		datapath-splice datapath-copy nodelay
		half-close-off retry-rst retry-fin urgent reload-relative
		reload-ctl reload-metrics sessions backpressure second-instance
		urgent-splice)
	tether_test(integration.lb-${case} LABEL integration TIMEOUT 120
		COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/lb_test.py
			$<TARGET_FILE:tether-lb> ${case}
			$<TARGET_FILE:tetherctl>)
endforeach()

# The same cases again with `io-uring on` first in every configuration a
# running tether-lb gets (TETHER_LB_TEST_IO_URING=1, see lb_test.py),
# when tether-lb is built with its io_uring data path: daemons/lb sets
# LB_HAVE_URING on tether_lb when it finds liburing (its LIBURING_FOUND
# is a variable of that directory, not of this one). Left out: udp and
# reload-udp (UDP only: it stays on the epoll loop) and badconf (-n and
# startup errors: nothing is relayed). nofile stays in: the ring's own
# descriptors count against the limit. failure-midrun, retry-rst and
# retry-fin cover the move from io_uring to epoll on a backend's error
# or early FIN (u_switch in proxy.c).
if(TARGET tether_lb)
	get_target_property(lb_defs tether_lb INTERFACE_COMPILE_DEFINITIONS)
	if(lb_defs MATCHES "LB_HAVE_URING")
		foreach(case balance maglev persist parallel failure
				failure-midrun retry-rst retry-fin
				limits health connect-timeout
				slowloris slowloris-limit slowloris-client nofile
				drain proxyv2 range metrics reload reload-load
				reload-state halfclose wlc passive slowstart
				maglev-slowstart maglev-reload datapath-splice
				datapath-copy nodelay half-close-off urgent
				urgent-splice reload-relative reload-ctl reload-metrics
				sessions backpressure)
			tether_test(integration.lb-uring-${case} LABEL integration
				TIMEOUT 120
				COMMAND /usr/bin/python3
					${CMAKE_CURRENT_LIST_DIR}/lb_test.py
					$<TARGET_FILE:tether-lb> ${case}
					$<TARGET_FILE:tetherctl>)
			set_tests_properties(integration.lb-uring-${case}
				PROPERTIES ENVIRONMENT TETHER_LB_TEST_IO_URING=1)
		endforeach()
		# The io_uring data path itself: sessions on it, fallbacks to
		# epoll (lb_test.py exits 77 where the kernel refuses io_uring).
		tether_test(integration.lb-uring LABEL integration TIMEOUT 120
			COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/lb_test.py
				$<TARGET_FILE:tether-lb> uring
				$<TARGET_FILE:tetherctl>)
		set_tests_properties(integration.lb-uring PROPERTIES
			SKIP_RETURN_CODE 77)
		# The buffer ring empty (io-uring-buffers 1): ENOBUFS moves a
		# session to epoll.
		tether_test(integration.lb-uring-nobufs LABEL integration
			TIMEOUT 120
			COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/lb_test.py
				$<TARGET_FILE:tether-lb> uring-nobufs
				$<TARGET_FILE:tetherctl>)
		set_tests_properties(integration.lb-uring-nobufs PROPERTIES
			SKIP_RETURN_CODE 77)
	endif()
endif()

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
# FIN that came with its reply costs no extra read.
tether_test(integration.lb-syscalls LABEL integration TIMEOUT 60
	COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/lb_syscalls.py
		$<TARGET_FILE:tether-lb>)
