# Stand-in for Zephyr's CMake package (tests only; see ../../README.md). What a Zephyr
# application and module call, as plain CMake: prj.conf's CONFIG_ settings become CMake
# variables (Zephyr's Kconfig step), `app` is the application library, every module of
# ZEPHYR_EXTRA_MODULES is added from the folder its zephyr/module.yml names, zephyr_library()
# makes a library linked into the image, zephyr_include_directories() are seen by all code.
set(_MCUQ_ZEPHYR_STANDIN "${CMAKE_CURRENT_LIST_DIR}")
project(zephyr_standin C)

file(STRINGS "${CMAKE_SOURCE_DIR}/prj.conf" _mcuq_conf REGEX "^CONFIG_[A-Za-z0-9_]+=")
foreach(_line ${_mcuq_conf})
  string(REGEX MATCH "^(CONFIG_[A-Za-z0-9_]+)=(.*)$" _m "${_line}")
  set(${CMAKE_MATCH_1} "${CMAKE_MATCH_2}")
endforeach()

add_library(zephyr_interface INTERFACE)
add_library(app STATIC)
target_link_libraries(app PUBLIC zephyr_interface)

macro(zephyr_library)
  get_filename_component(_mcuq_lib "${CMAKE_CURRENT_SOURCE_DIR}" NAME)
  set(ZEPHYR_CURRENT_LIBRARY "modules__${_mcuq_lib}")
  add_library(${ZEPHYR_CURRENT_LIBRARY} STATIC)
  target_link_libraries(${ZEPHYR_CURRENT_LIBRARY} PUBLIC zephyr_interface)
  target_link_libraries(app PUBLIC ${ZEPHYR_CURRENT_LIBRARY})
endmacro()

function(zephyr_library_sources)
  target_sources(${ZEPHYR_CURRENT_LIBRARY} PRIVATE ${ARGN})
endfunction()

function(zephyr_library_compile_options)
  target_compile_options(${ZEPHYR_CURRENT_LIBRARY} PRIVATE ${ARGN})
endfunction()

function(zephyr_include_directories)
  foreach(dir ${ARGN})
    get_filename_component(abs "${dir}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
    target_include_directories(zephyr_interface INTERFACE "${abs}")
  endforeach()
endfunction()

foreach(_mod ${ZEPHYR_EXTRA_MODULES})
  get_filename_component(_mod "${_mod}" REALPATH)
  file(STRINGS "${_mod}/zephyr/module.yml" _cmake REGEX "^[ ]+cmake:")
  string(REGEX REPLACE "^[ ]+cmake:[ ]*" "" _cmake "${_cmake}")
  get_filename_component(_name "${_mod}" NAME)
  add_subdirectory("${_mod}/${_cmake}" "modules/${_name}")
endforeach()

if(NOT CMAKE_CROSSCOMPILING)
  # the image: main() comes from the app library
  add_executable(zephyr_final "${_MCUQ_ZEPHYR_STANDIN}/../image.c")
  target_link_libraries(zephyr_final PRIVATE app)
endif()
set(Zephyr_FOUND TRUE)
