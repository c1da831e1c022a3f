# recur_add_test(<source.cpp> [LABELS l...] [FIXTURES f...])
# One GoogleTest executable per source file, registered with CTest under the file's stem, linked
# with tests/support (the recur_test_support library, tests/CMakeLists.txt).
function(recur_add_test source)
  cmake_parse_arguments(ARG "" "" "LABELS;FIXTURES" ${ARGN})
  get_filename_component(name ${source} NAME_WE)
  add_executable(${name} ${source})
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR}/tests)
  target_link_libraries(${name} PRIVATE recur_test_support recur_lib GTest::gtest GTest::gtest_main)
  target_compile_definitions(${name} PRIVATE
    RECUR_SOURCE_DIR="${PROJECT_SOURCE_DIR}" RECUR_BINARY_DIR="${PROJECT_BINARY_DIR}"
    RECUR_CLI_PATH="$<TARGET_FILE:recur>")
  recur_set_warnings(${name})
  add_test(NAME ${name} COMMAND ${name} WORKING_DIRECTORY ${PROJECT_BINARY_DIR})
  set_tests_properties(${name} PROPERTIES LABELS "${ARG_LABELS}")
  if(ARG_FIXTURES)
    set_tests_properties(${name} PROPERTIES FIXTURES_REQUIRED "${ARG_FIXTURES}")
  endif()
  add_dependencies(${name} recur)
endfunction()
