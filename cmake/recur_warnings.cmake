# Warnings for recur's own targets only; -Werror when CI=true.
function(recur_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wshadow)
  if(DEFINED ENV{CI} AND "$ENV{CI}" STREQUAL "true")
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
