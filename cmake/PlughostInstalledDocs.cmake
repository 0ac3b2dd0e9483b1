# Run at install time (install(CODE) in PlughostInstall.cmake): writes the
# installed man pages and README with the paths of this installation, so
# that what they tell a reader to open or pass exists. The prefix is the
# one in force when installing (`cmake --install --prefix P`, CPack's
# staging), not necessarily the configured one.
#
# In: CMAKE_INSTALL_PREFIX, PH_SRC, PH_OUT, and PH_REL_<NAME> for LIBDIR,
# LIBEXECDIR, DATADIR, DOCDIR, PLUGINDIR (each relative to the prefix or
# absolute, as GNUInstallDirs gives them).
foreach(d LIBDIR LIBEXECDIR DATADIR DOCDIR PLUGINDIR)
  if(IS_ABSOLUTE "${PH_REL_${d}}")
    set(_ph_${d} "${PH_REL_${d}}")
  else()
    set(_ph_${d} "${CMAKE_INSTALL_PREFIX}/${PH_REL_${d}}")
  endif()
endforeach()

# Man pages: a '-' in a path is written \- so that groff keeps it a hyphen.
function(ph_man_path out value)
  string(REPLACE "-" "\\-" v "${value}")
  set(${out} "${v}" PARENT_SCOPE)
endfunction()
ph_man_path(PH_MAN_PREFIX "${CMAKE_INSTALL_PREFIX}")
ph_man_path(PH_MAN_LOADER "${_ph_LIBEXECDIR}/plughost/plughost-loader")
ph_man_path(PH_MAN_TEMPLATEDIR "${_ph_DATADIR}/plughost/plugin-template")
ph_man_path(PH_MAN_PLUGINDIR "${_ph_PLUGINDIR}")
ph_man_path(PH_MAN_DOCDIR "${_ph_DOCDIR}")
ph_man_path(PH_MAN_LIBDIR "${_ph_LIBDIR}")
ph_man_path(PH_MAN_PKGCONFIGDIR "${_ph_LIBDIR}/pkgconfig")
configure_file("${PH_SRC}/docs/man/plughost.1" "${PH_OUT}/plughost.1" @ONLY)
configure_file("${PH_SRC}/docs/man/plughost-plugin.7" "${PH_OUT}/plughost-plugin.7" @ONLY)

set(PH_PREFIX "${CMAKE_INSTALL_PREFIX}")
set(PH_LOADER "${_ph_LIBEXECDIR}/plughost/plughost-loader")
set(PH_TEMPLATEDIR "${_ph_DATADIR}/plughost/plugin-template")
set(PH_PLUGINDIR "${_ph_PLUGINDIR}")
set(PH_DOCDIR "${_ph_DOCDIR}")
set(PH_LIBDIR "${_ph_LIBDIR}")
set(PH_PKGCONFIGDIR "${_ph_LIBDIR}/pkgconfig")
set(PH_CMAKEDIR "${_ph_LIBDIR}/cmake/plughost")
configure_file("${PH_SRC}/docs/installed-README.md.in" "${PH_OUT}/README.md" @ONLY)
