# plughost_add_plugin(NAME SOURCES...): builds a plugin shared object named
# NAME.so (no "lib" prefix: the file name is what operators see in a plugin
# directory) against the SDK. Works in the source tree and, through
# plughostConfig.cmake, for out-of-tree plugins.
function(plughost_add_plugin name)
  add_library(${name} MODULE ${ARGN})
  set_target_properties(${name} PROPERTIES PREFIX "" C_VISIBILITY_PRESET hidden)
  if(TARGET plughost::sdk)
    target_link_libraries(${name} PRIVATE plughost::sdk)
  else()
    target_link_libraries(${name} PRIVATE plughost_sdk)
  endif()
endfunction()
