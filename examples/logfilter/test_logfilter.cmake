# Runs logfilter on a few lines and checks what comes out; ctest runs it with
# -DLOGFILTER=<executable> -DPLUGINS=<plugin directory>.
set(in ${CMAKE_CURRENT_BINARY_DIR}/logfilter-input.txt)
file(WRITE ${in} "user 42 logged in\n\n   \ncard 4111-1111 ok\nno digits here\n")
execute_process(COMMAND ${LOGFILTER} ${PLUGINS} redact.skip_blank redact.redact
  INPUT_FILE ${in} OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
set(want "user ## logged in\ncard ####-#### ok\nno digits here\n")
if(NOT rc EQUAL 0 OR NOT out STREQUAL want)
  message(FATAL_ERROR "chain: exit ${rc}\nstdout:\n${out}\nwanted:\n${want}\nstderr:\n${err}")
endif()

# A failing step: the line is reported with the plugin's message, the others
# still come out, and the exit status says something failed.
file(WRITE ${in} "a 1\npassword=hunter2\nb 2\n")
execute_process(COMMAND ${LOGFILTER} ${PLUGINS} redact.no_passwords redact.redact
  INPUT_FILE ${in} OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
if(NOT rc EQUAL 1 OR NOT out STREQUAL "a #\nb #\n"
    OR NOT err MATCHES "line 2: redact.no_passwords: line mentions a password")
  message(FATAL_ERROR "failing step: exit ${rc}\nstdout:\n${out}\nstderr:\n${err}")
endif()

# A typo in a step is one message before any input is read.
execute_process(COMMAND ${LOGFILTER} ${PLUGINS} redact.nope
  INPUT_FILE ${in} OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
if(NOT rc EQUAL 3 OR NOT err MATCHES "plugin redact has no method nope")
  message(FATAL_ERROR "unknown method: exit ${rc}\nstderr:\n${err}")
endif()
message(STATUS "logfilter: all checks passed")
