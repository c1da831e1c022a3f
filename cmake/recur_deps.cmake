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

# Interoperability (docs/interop/): ONNX's protobuf messages (libonnx-dev, over libprotobuf),
# HDF5 for Keras .h5 files (libhdf5-dev), libzip for Keras 3 .keras archives (libzip-dev).
find_package(Protobuf QUIET)
find_package(ONNX CONFIG QUIET)
if(NOT Protobuf_FOUND OR NOT TARGET onnx_proto)
  message(FATAL_ERROR "ONNX protobuf messages not found: install them with "
                      "`apt-get install libonnx-dev libprotobuf-dev` (scripts/bootstrap does this)")
endif()
find_path(RECUR_HDF5_INCLUDE hdf5.h PATHS /usr/include/hdf5/serial)
find_library(RECUR_HDF5_LIB hdf5 PATHS /usr/lib/x86_64-linux-gnu/hdf5/serial)
if(NOT RECUR_HDF5_INCLUDE OR NOT RECUR_HDF5_LIB)
  message(FATAL_ERROR "HDF5 not found: install it with `apt-get install libhdf5-dev` "
                      "(scripts/bootstrap does this)")
endif()
add_library(recur::hdf5 INTERFACE IMPORTED)
target_include_directories(recur::hdf5 INTERFACE ${RECUR_HDF5_INCLUDE})
target_link_libraries(recur::hdf5 INTERFACE ${RECUR_HDF5_LIB})
find_path(RECUR_ZIP_INCLUDE zip.h)
find_library(RECUR_ZIP_LIB zip)
if(NOT RECUR_ZIP_INCLUDE OR NOT RECUR_ZIP_LIB)
  message(FATAL_ERROR "libzip not found: install it with `apt-get install libzip-dev` "
                      "(scripts/bootstrap does this)")
endif()
add_library(recur::zip INTERFACE IMPORTED)
target_include_directories(recur::zip INTERFACE ${RECUR_ZIP_INCLUDE})
target_link_libraries(recur::zip INTERFACE ${RECUR_ZIP_LIB})
