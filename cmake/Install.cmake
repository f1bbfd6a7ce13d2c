# Installing hyperdefrag, included at the end of CMakeLists.txt:
#   - `cmake --install build --prefix P`: P/bin/hyperdefrag, its man page
#     (made by help2man from the real --help at build time) and bash, zsh and
#     fish completions (made from the same --help by cmake/help_files.py);
#   - `cpack` in the build directory: a .deb declaring its Debian dependencies;
#   - the Python package (pyproject.toml, scikit-build-core): with
#     HYPERDEFRAG_PYTHON the nanobind module hyperdefrag._core, and the command
#     in the environment's bin/.
include(GNUInstallDirs)

option(HYPERDEFRAG_PYTHON "build the Python module hyperdefrag._core (needs nanobind)" OFF)

# --- man page and completions, from the built binary's --help ---------------
find_package(Python 3.9 COMPONENTS Interpreter REQUIRED)
find_program(HYPERDEFRAG_HELP2MAN help2man)
set(_help_dir "${CMAKE_BINARY_DIR}/help-files")
set(_completions
    "${_help_dir}/hyperdefrag.bash" "${_help_dir}/_hyperdefrag" "${_help_dir}/hyperdefrag.fish")
add_custom_command(
  OUTPUT ${_completions}
  COMMAND "${Python_EXECUTABLE}" "${CMAKE_SOURCE_DIR}/cmake/help_files.py" completions
          "$<TARGET_FILE:hyperdefrag>" "${_help_dir}"
  DEPENDS hyperdefrag "${CMAKE_SOURCE_DIR}/cmake/help_files.py"
  COMMENT "Completions for bash, zsh and fish from hyperdefrag --help"
  VERBATIM)
set(_help_files ${_completions})
if(HYPERDEFRAG_HELP2MAN)
  add_custom_command(
    OUTPUT "${_help_dir}/hyperdefrag.1"
    COMMAND "${Python_EXECUTABLE}" "${CMAKE_SOURCE_DIR}/cmake/help_files.py" man
            "$<TARGET_FILE:hyperdefrag>" "${_help_dir}/hyperdefrag.1" "${HYPERDEFRAG_HELP2MAN}"
            "${PROJECT_VERSION}"
    DEPENDS hyperdefrag "${CMAKE_SOURCE_DIR}/cmake/help_files.py"
    COMMENT "Man page hyperdefrag.1 from hyperdefrag --help (help2man)"
    VERBATIM)
  list(APPEND _help_files "${_help_dir}/hyperdefrag.1")
else()
  message(WARNING "help2man not found: no man page (scripts/setup.sh installs it)")
endif()
add_custom_target(hyperdefrag_help_files ALL DEPENDS ${_help_files})

# --- where things go ----------------------------------------------------------
if(SKBUILD)
  # A wheel: the command in the environment's bin/, the rest under its share/.
  set(_bin_dir "${SKBUILD_SCRIPTS_DIR}")
  set(_share_dir "${SKBUILD_DATA_DIR}/${CMAKE_INSTALL_DATADIR}")
  set(_man_dir "${SKBUILD_DATA_DIR}/${CMAKE_INSTALL_MANDIR}")
else()
  set(_bin_dir "${CMAKE_INSTALL_BINDIR}")
  set(_share_dir "${CMAKE_INSTALL_DATADIR}")
  set(_man_dir "${CMAKE_INSTALL_MANDIR}")
endif()
install(TARGETS hyperdefrag RUNTIME DESTINATION "${_bin_dir}")
if(HYPERDEFRAG_HELP2MAN)
  install(FILES "${_help_dir}/hyperdefrag.1" DESTINATION "${_man_dir}/man1")
endif()
install(FILES "${_help_dir}/hyperdefrag.bash" DESTINATION "${_share_dir}/bash-completion/completions"
        RENAME hyperdefrag)
install(FILES "${_help_dir}/hyperdefrag.fish" DESTINATION "${_share_dir}/fish/vendor_completions.d")
# zsh: Debian's zsh reads /usr/share/zsh/vendor-completions for packages in
# /usr, and P/share/zsh/site-functions (e.g. /usr/local) elsewhere; chosen at
# install time, so the .deb (prefix /usr) and `--prefix /usr/local` both work.
if(SKBUILD)
  install(FILES "${_help_dir}/_hyperdefrag" DESTINATION "${_share_dir}/zsh/site-functions")
else()
  install(CODE "
    if(CMAKE_INSTALL_PREFIX MATCHES \"/usr/?$\")
      set(_zsh_dir \"${_share_dir}/zsh/vendor-completions\")
    else()
      set(_zsh_dir \"${_share_dir}/zsh/site-functions\")
    endif()
    file(INSTALL DESTINATION \"\${CMAKE_INSTALL_PREFIX}/\${_zsh_dir}\" TYPE FILE
         FILES \"${_help_dir}/_hyperdefrag\")")
endif()

# --- the Python module -----------------------------------------------------------
if(HYPERDEFRAG_PYTHON)
  find_package(Python 3.9 COMPONENTS Interpreter Development.Module REQUIRED)
  execute_process(
    COMMAND "${Python_EXECUTABLE}" -m nanobind --cmake_dir
    OUTPUT_VARIABLE nanobind_ROOT OUTPUT_STRIP_TRAILING_WHITESPACE COMMAND_ERROR_IS_FATAL ANY)
  find_package(nanobind CONFIG REQUIRED)
  # The module links the static libraries: they must be position-independent.
  get_property(_targets DIRECTORY PROPERTY BUILDSYSTEM_TARGETS)
  foreach(_target IN LISTS _targets)
    get_target_property(_type ${_target} TYPE)
    if(_type STREQUAL "STATIC_LIBRARY")
      set_target_properties(${_target} PROPERTIES POSITION_INDEPENDENT_CODE ON)
    endif()
  endforeach()
  nanobind_add_module(_core NB_STATIC src/python/module.cc)
  target_link_libraries(_core PRIVATE hyperdefrag_lib)
  if(SKBUILD)
    install(TARGETS _core LIBRARY DESTINATION hyperdefrag)
  endif()
endif()

# --- the .deb: `cpack` in the build directory ------------------------------------
if(NOT SKBUILD)
  set(CPACK_GENERATOR DEB)
  set(CPACK_PACKAGE_NAME hyperdefrag)
  set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
  set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "compacts Tableau Hyper database files (.hyper)")
  string(CONCAT CPACK_PACKAGE_DESCRIPTION
         "hyperdefrag writes a compacted copy of a Tableau Hyper file, or replaces it\n"
         "in place, by rewriting every table inside the Hyper engine. The engine\n"
         "(hyperd) comes with the PyPI package tableauhyperapi, which Debian does not\n"
         "carry: pip install tableauhyperapi for python3, or pass --hyperd PATH.")
  set(CPACK_DEBIAN_PACKAGE_MAINTAINER "hyperdefrag developers")
  set(CPACK_DEBIAN_PACKAGE_SECTION utils)
  set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
  # Depends: from the libraries the binary links (dpkg-shlibdeps, in dpkg-dev).
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
  set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "python3")
  set(CPACK_DEBIAN_PACKAGE_SUGGESTS "bash-completion")
  set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
  set(CPACK_STRIP_FILES ON)
  include(CPack)
endif()
