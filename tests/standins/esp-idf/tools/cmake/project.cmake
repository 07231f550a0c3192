# Stand-in for ESP-IDF's tools/cmake/project.cmake (tests only; see ../../../README.md).
# A component is a static library named __idf_<component>; INCLUDE_DIRS are public,
# PRIV_INCLUDE_DIRS private, REQUIRES/PRIV_REQUIRES link other components. The project's
# components are main/ plus the manifest dependencies the test read from
# main/idf_component.yml and passes as MCUQ_IDF_DEPENDENCIES ("name=path" relative to main/);
# like the component manager, they become requirements of main.
set(_MCUQ_IDF_STANDIN "${CMAKE_CURRENT_LIST_DIR}")

function(idf_component_register)
  cmake_parse_arguments(ARG "" "" "SRCS;INCLUDE_DIRS;PRIV_INCLUDE_DIRS;REQUIRES;PRIV_REQUIRES"
                        ${ARGN})
  set(lib "__idf_${COMPONENT_NAME}")
  add_library(${lib} STATIC ${ARG_SRCS})
  if(ARG_INCLUDE_DIRS)
    target_include_directories(${lib} PUBLIC ${ARG_INCLUDE_DIRS})
  endif()
  if(ARG_PRIV_INCLUDE_DIRS)
    target_include_directories(${lib} PRIVATE ${ARG_PRIV_INCLUDE_DIRS})
  endif()
  foreach(req ${ARG_REQUIRES} ${ARG_PRIV_REQUIRES})
    target_link_libraries(${lib} PUBLIC __idf_${req})
  endforeach()
  set(COMPONENT_LIB ${lib} PARENT_SCOPE)
endfunction()

macro(project name)
  _project(${name} C)
  set(_mcuq_deps "")
  foreach(_dep ${MCUQ_IDF_DEPENDENCIES})
    string(REPLACE "=" ";" _pair "${_dep}")
    list(GET _pair 0 COMPONENT_NAME)
    list(GET _pair 1 _path)
    add_subdirectory("${CMAKE_CURRENT_SOURCE_DIR}/main/${_path}" "components/${COMPONENT_NAME}")
    list(APPEND _mcuq_deps __idf_${COMPONENT_NAME})
  endforeach()
  set(COMPONENT_NAME main)
  add_subdirectory(main)
  target_link_libraries(__idf_main PUBLIC ${_mcuq_deps})
  if(NOT CMAKE_CROSSCOMPILING)
    # ESP-IDF's start-up calls app_main(); on the host a main() does.
    add_executable(${name} "${_MCUQ_IDF_STANDIN}/../../app_main_driver.c")
    target_link_libraries(${name} PRIVATE __idf_main)
  endif()
endmacro()
