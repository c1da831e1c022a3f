# Every third-party dependency is located here, one message per missing package.
# All of them are Debian packages installed by scripts/bootstrap.

find_package(nlohmann_json 3 REQUIRED)
find_package(CLI11 REQUIRED)

# BLAS: OpenBLAS (pthread flavour), chosen by measurement (docs/PERFORMANCE.md).
find_path(RECUR_CBLAS_INCLUDE cblas.h PATHS /usr/include/x86_64-linux-gnu/openblas-pthread
          /usr/include/openblas NO_DEFAULT_PATH)
find_library(RECUR_OPENBLAS_LIB NAMES openblas PATHS /usr/lib/x86_64-linux-gnu/openblas-pthread
             NO_DEFAULT_PATH)
if(NOT RECUR_CBLAS_INCLUDE OR NOT RECUR_OPENBLAS_LIB)
  message(FATAL_ERROR "OpenBLAS not found: install it with `apt-get install libopenblas-dev` "
                      "(scripts/bootstrap does this)")
endif()
add_library(recur::blas INTERFACE IMPORTED)
target_include_directories(recur::blas INTERFACE ${RECUR_CBLAS_INCLUDE})
target_link_libraries(recur::blas INTERFACE ${RECUR_OPENBLAS_LIB})

# oneDNN (dnnl_sgemm, the matrix products; docs/PERFORMANCE.md) and the OpenMP runtime it runs on.
find_path(RECUR_DNNL_INCLUDE oneapi/dnnl/dnnl.h)
find_library(RECUR_DNNL_LIB dnnl)
find_package(OpenMP COMPONENTS CXX)
if(NOT RECUR_DNNL_INCLUDE OR NOT RECUR_DNNL_LIB OR NOT OpenMP_CXX_FOUND)
  message(FATAL_ERROR "oneDNN not found: install it with `apt-get install libdnnl-dev` "
                      "(scripts/bootstrap does this)")
endif()
target_include_directories(recur::blas INTERFACE ${RECUR_DNNL_INCLUDE})
target_link_libraries(recur::blas INTERFACE ${RECUR_DNNL_LIB} OpenMP::OpenMP_CXX)

# SLEEF: vectorized exp/tanh.
find_path(RECUR_SLEEF_INCLUDE sleef.h)
find_library(RECUR_SLEEF_LIB sleef)
if(NOT RECUR_SLEEF_INCLUDE OR NOT RECUR_SLEEF_LIB)
  message(FATAL_ERROR "SLEEF not found: install it with `apt-get install libsleef-dev` "
                      "(scripts/bootstrap does this)")
endif()
add_library(recur::sleef INTERFACE IMPORTED)
target_include_directories(recur::sleef INTERFACE ${RECUR_SLEEF_INCLUDE})
target_link_libraries(recur::sleef INTERFACE ${RECUR_SLEEF_LIB})
