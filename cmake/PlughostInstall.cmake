# Install rules for everything but the two executables (their rules sit with
# their targets): libraries, headers, the CMake package, pkg-config files,
# man pages, docs and the bundled plugins. Included once, from the top-level
# CMakeLists.txt, after every target exists.
include(CMakePackageConfigHelpers)

# A fixed path rather than CMAKE_INSTALL_LIBDIR: plugins are loaded by path,
# not by the dynamic linker, so the multiarch directory Debian uses for
# libraries under /usr buys nothing and would only make the path harder to
# guess.
set(PH_INSTALL_PLUGINDIR lib/plughost/plugins CACHE STRING
  "Where the bundled plugins are installed, relative to the prefix")
set(PH_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/plughost)

# Relative RUNPATHs keep an installed tree working wherever it is unpacked
# (cmake --install --prefix, a tarball). Under a system library directory the
# dynamic linker finds the libraries anyway, and Debian frowns on a RUNPATH.
list(FIND CMAKE_C_IMPLICIT_LINK_DIRECTORIES "${CMAKE_INSTALL_FULL_LIBDIR}" _ph_sys_libdir)
if(_ph_sys_libdir LESS 0 AND NOT IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  file(RELATIVE_PATH _ph_bin_to_lib ${CMAKE_INSTALL_FULL_BINDIR} ${CMAKE_INSTALL_FULL_LIBDIR})
  file(RELATIVE_PATH _ph_loader_to_lib ${CMAKE_INSTALL_FULL_LIBEXECDIR}/plughost
    ${CMAKE_INSTALL_FULL_LIBDIR})
  set_target_properties(plughost PROPERTIES INSTALL_RPATH "$ORIGIN/${_ph_bin_to_lib}")
  set_target_properties(plughost-loader PROPERTIES INSTALL_RPATH "$ORIGIN/${_ph_loader_to_lib}")
endif()

# Consumers see plughost::sdk and plughost::host, not the internal names.
set_target_properties(plughost_sdk PROPERTIES EXPORT_NAME sdk)
set_target_properties(plughost_host PROPERTIES EXPORT_NAME host)
# The include directory comes from each target's INSTALL_INTERFACE.
install(TARGETS plughost_sdk plughost_host EXPORT plughostTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(FILES ${PROJECT_SOURCE_DIR}/sdk/include/plughost/sdk.h
  ${PROJECT_SOURCE_DIR}/host/include/plughost/host.h
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/plughost)

install(EXPORT plughostTargets NAMESPACE plughost:: DESTINATION ${PH_INSTALL_CMAKEDIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/plughostConfig.cmake.in
  ${PROJECT_BINARY_DIR}/cmake/plughostConfig.cmake
  INSTALL_DESTINATION ${PH_INSTALL_CMAKEDIR}
  PATH_VARS PH_INSTALL_PLUGINDIR CMAKE_INSTALL_BINDIR)
# 0.x: a new minor version may break the ABI, so only the same minor matches.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/cmake/plughostConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/cmake/plughostConfig.cmake
  ${PROJECT_BINARY_DIR}/cmake/plughostConfigVersion.cmake
  ${PROJECT_SOURCE_DIR}/cmake/PlughostPlugin.cmake
  DESTINATION ${PH_INSTALL_CMAKEDIR})

# pkg-config files are written at install time so that `cmake --install
# --prefix P` (and CPack's staging) gets prefix=P, not the configured prefix.
# Stage one fills in everything but the prefix, which it leaves as @prefix@.
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  set(PH_PC_LIBDIR "${CMAKE_INSTALL_LIBDIR}")
else()
  set(PH_PC_LIBDIR "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
endif()
if(IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  set(PH_PC_INCLUDEDIR "${CMAKE_INSTALL_INCLUDEDIR}")
else()
  set(PH_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()
set(prefix "@prefix@")
foreach(pc plughost-sdk plughost)
  configure_file(${PROJECT_SOURCE_DIR}/cmake/${pc}.pc.in ${PROJECT_BINARY_DIR}/pkgconfig/${pc}.pc.in
    @ONLY)
  install(CODE "
    set(prefix \"\${CMAKE_INSTALL_PREFIX}\")
    configure_file(\"${PROJECT_BINARY_DIR}/pkgconfig/${pc}.pc.in\"
      \"${PROJECT_BINARY_DIR}/pkgconfig/${pc}.pc\" @ONLY)")
  install(FILES ${PROJECT_BINARY_DIR}/pkgconfig/${pc}.pc
    DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
endforeach()
unset(prefix)

foreach(p echo textstats greeter)
  if(TARGET ${p})
    install(TARGETS ${p} LIBRARY DESTINATION ${PH_INSTALL_PLUGINDIR})
  endif()
endforeach()

# The man pages and the README a reader of the installation gets name its
# own paths (the prefix in force at install time, as for the pkg-config
# files): written by cmake/PlughostInstalledDocs.cmake, then installed.
set(_ph_docs_out ${PROJECT_BINARY_DIR}/installed-docs)
install(CODE "
  set(PH_SRC \"${PROJECT_SOURCE_DIR}\")
  set(PH_OUT \"${_ph_docs_out}\")
  set(PH_REL_LIBDIR \"${CMAKE_INSTALL_LIBDIR}\")
  set(PH_REL_LIBEXECDIR \"${CMAKE_INSTALL_LIBEXECDIR}\")
  set(PH_REL_DATADIR \"${CMAKE_INSTALL_DATADIR}\")
  set(PH_REL_DOCDIR \"${CMAKE_INSTALL_DOCDIR}\")
  set(PH_REL_PLUGINDIR \"${PH_INSTALL_PLUGINDIR}\")
  include(\"${PROJECT_SOURCE_DIR}/cmake/PlughostInstalledDocs.cmake\")")
install(FILES ${_ph_docs_out}/plughost.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES ${_ph_docs_out}/plughost-plugin.7 DESTINATION ${CMAKE_INSTALL_MANDIR}/man7)
install(FILES ${_ph_docs_out}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
# The plugin template `plughost new` writes out (host/cli/new.c names these
# files), buildable as it is.
install(FILES ${PROJECT_SOURCE_DIR}/examples/plugin-template/CMakeLists.txt
  ${PROJECT_SOURCE_DIR}/examples/plugin-template/Makefile
  ${PROJECT_SOURCE_DIR}/examples/plugin-template/README.md
  ${PROJECT_SOURCE_DIR}/examples/plugin-template/hello.c
  ${PROJECT_SOURCE_DIR}/examples/plugin-template/test_hello.c
  DESTINATION ${CMAKE_INSTALL_DATADIR}/plughost/plugin-template)
# A directory rule rather than a list, so documents added later are picked up
# without touching this file.
install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR}
  FILES_MATCHING PATTERN "*.md" PATTERN "man" EXCLUDE)
