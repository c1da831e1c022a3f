// SGEMM backend measurement at the shapes of recur's recurrent engine (DESIGN.md §2, §6).
//
// One source, one executable per backend: exactly one of
//   GEMM_BACKEND_OPENBLAS, GEMM_BACKEND_BLIS, GEMM_BACKEND_DNNL, GEMM_BACKEND_XSMM
// is defined by CMake (OpenBLAS and BLIS both export cblas_sgemm, so they cannot share a binary).
//
// Every problem is row-major C[M,N] (+)= op(A)·op(B). For each problem the program checks a
// sample of C against a double-precision dot product, warms up, then times single calls until
// both a minimum count and a minimum time are reached, and prints one CSV line with the median.
//
// Usage: gemm_bench_<backend> --threads T [--min-time S] [--min-reps N] [--filter SUBSTR]
// Output (stdout, CSV): backend,config,variant,role,shape,layout,threads,M,N,K,ta,tb,reps,
//                       median_us,gflops_median,gflops_best,others
// "others" is the share of the machine's CPUs used by other processes while the case was timed
// (from /proc/stat minus this process's CPU time); the summary drops samples where it is high.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <time.h>
#include <unistd.h>

#if defined(GEMM_BACKEND_OPENBLAS)
#include <cblas.h>
#define BACKEND_NAME "openblas"
#elif defined(GEMM_BACKEND_BLIS)
#include <blis.h>
#include <cblas.h>
#define BACKEND_NAME "blis"
#elif defined(GEMM_BACKEND_DNNL)
#include <omp.h>
#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl.hpp>
#define BACKEND_NAME "onednn"
#elif defined(GEMM_BACKEND_XSMM)
#include <omp.h>
#include <libxsmm.h>
#define BACKEND_NAME "libxsmm"
#else
#error "define one of GEMM_BACKEND_OPENBLAS, GEMM_BACKEND_BLIS, GEMM_BACKEND_DNNL, GEMM_BACKEND_XSMM"
#endif

namespace {

// ---------------------------------------------------------------------------------------------
// Problems

struct Problem {
  const char* role;   // step | proj | dW | dh
  const char* shape;  // the shape as written in the task, MxNxK of the Keras-layout form
  const char* layout; // keras | pytorch
  int M, N, K;
  bool ta, tb;        // A stored [K,M] / B stored [N,K]
  float beta;         // 1: accumulate into C (recurrent step, dh), 0: overwrite
  bool b_is_weight;   // B is a parameter (can be prepacked once)
};

std::vector<Problem> make_problems() {
  std::vector<Problem> p;
  // Forward recurrent step Z_t += h_{t-1}·U, U is [H, G·H] (Keras) or [G·H, H] (PyTorch).
  struct S { const char* shape; int M, N, K; };
  for (S s : {S{"64x1024x256", 64, 1024, 256}, S{"32x2048x512", 32, 2048, 512},
              S{"64x512x128", 64, 512, 128}, S{"1x1024x256", 1, 1024, 256}}) {
    p.push_back({"step", s.shape, "keras", s.M, s.N, s.K, false, false, 1.f, true});
    p.push_back({"step", s.shape, "pytorch", s.M, s.N, s.K, false, true, 1.f, true});
  }
  // All-steps input projection P = x·W, x is [T·B, I].
  for (S s : {S{"6400x1024x128", 6400, 1024, 128}, S{"3200x2048x256", 3200, 2048, 256}}) {
    p.push_back({"proj", s.shape, "keras", s.M, s.N, s.K, false, false, 0.f, true});
    p.push_back({"proj", s.shape, "pytorch", s.M, s.N, s.K, false, true, 0.f, true});
  }
  // Weight gradient over all steps. Keras: dU[H,GH] = hᵀ·dZ. PyTorch: dU[GH,H] = dZᵀ·h.
  // Both transpose A (the activations are stored time-major [T·B, ·]); B is never a weight.
  p.push_back({"dW", "256x1024x6400", "keras", 256, 1024, 6400, true, false, 0.f, false});
  p.push_back({"dW", "256x1024x6400", "pytorch", 1024, 256, 6400, true, false, 0.f, false});
  // dh_{t-1} += dZ_t·Uᵀ: with Keras U [H, GH] this is B transposed; with PyTorch U [GH, H] it is not.
  p.push_back({"dh", "64x256x1024", "keras", 64, 256, 1024, false, true, 1.f, true});
  p.push_back({"dh", "64x256x1024", "pytorch", 64, 256, 1024, false, false, 1.f, true});
  return p;
}

// ---------------------------------------------------------------------------------------------
// Buffers

struct FreeDeleter { void operator()(float* p) const { std::free(p); } };
using Buf = std::unique_ptr<float, FreeDeleter>;

Buf alloc_floats(size_t n) {
  size_t bytes = ((n * sizeof(float) + 63) / 64) * 64;
  auto* p = static_cast<float*>(std::aligned_alloc(64, bytes));
  if (!p) { std::fprintf(stderr, "out of memory\n"); std::exit(1); }
  return Buf(p);
}

struct Operands {
  const Problem& pb;
  Buf a, b, c;
  int lda, ldb, ldc;
  explicit Operands(const Problem& p) : pb(p) {
    a = alloc_floats(size_t(p.M) * p.K);
    b = alloc_floats(size_t(p.K) * p.N);
    c = alloc_floats(size_t(p.M) * p.N);
    lda = p.ta ? p.M : p.K;
    ldb = p.tb ? p.K : p.N;
    ldc = p.N;
    std::mt19937 rng(1234);
    std::uniform_real_distribution<float> u(-1.f, 1.f);
    for (size_t i = 0; i < size_t(p.M) * p.K; ++i) a.get()[i] = u(rng);
    for (size_t i = 0; i < size_t(p.K) * p.N; ++i) b.get()[i] = u(rng);
    std::memset(c.get(), 0, sizeof(float) * size_t(p.M) * p.N);
  }
  float A(int i, int k) const { return pb.ta ? a.get()[size_t(k) * lda + i] : a.get()[size_t(i) * lda + k]; }
  float B(int k, int j) const { return pb.tb ? b.get()[size_t(j) * ldb + k] : b.get()[size_t(k) * ldb + j]; }
};

// Compare a sample of C (computed once from C = 0) with a double-precision reference.
bool check(const Operands& o, std::string& why) {
  const Problem& p = o.pb;
  std::mt19937 rng(99);
  for (int s = 0; s < 48; ++s) {
    int i = s == 0 ? 0 : s == 1 ? p.M - 1 : int(rng() % unsigned(p.M));
    int j = s == 0 ? 0 : s == 1 ? p.N - 1 : int(rng() % unsigned(p.N));
    double ref = 0, mag = 0;
    for (int k = 0; k < p.K; ++k) {
      double t = double(o.A(i, k)) * double(o.B(k, j));
      ref += t;
      mag += std::fabs(t);
    }
    double got = o.c.get()[size_t(i) * o.ldc + j];
    if (!(std::fabs(got - ref) <= 1e-4 * mag + 1e-6)) {
      char msg[160];
      std::snprintf(msg, sizeof msg, "C[%d,%d] = %g, expected %g", i, j, got, ref);
      why = msg;
      return false;
    }
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Backends: each variant turns a problem into a prepared call, or nothing when not applicable.

using Call = std::function<void()>;
struct Variant {
  const char* name;
  std::function<std::optional<Call>(Operands&)> prepare;
};

#if defined(GEMM_BACKEND_OPENBLAS) || defined(GEMM_BACKEND_BLIS)

void set_threads(int t) {
#if defined(GEMM_BACKEND_OPENBLAS)
  openblas_set_num_threads(t);
#else
  bli_thread_set_num_threads(t);
#endif
}

std::string config_string() {
#if defined(GEMM_BACKEND_OPENBLAS)
  return std::string("core=") + openblas_get_corename();
#else
  bli_init();
  return std::string("arch=") + bli_arch_string(bli_arch_query_id()) + " v" + bli_info_get_version_str();
#endif
}

std::vector<Variant> variants() {
  std::vector<Variant> v;
  v.push_back({"sgemm", [](Operands& o) -> std::optional<Call> {
    const Problem& p = o.pb;
    return Call([&o, p] {
      cblas_sgemm(CblasRowMajor, p.ta ? CblasTrans : CblasNoTrans, p.tb ? CblasTrans : CblasNoTrans,
                  p.M, p.N, p.K, 1.f, o.a.get(), o.lda, o.b.get(), o.ldb, p.beta, o.c.get(), o.ldc);
    });
  }});
  // Batch 1: y[1,N] = x[1,K]·op(B) as a matrix-vector product.
  v.push_back({"sgemv", [](Operands& o) -> std::optional<Call> {
    const Problem& p = o.pb;
    if (p.M != 1 || p.ta) return std::nullopt;
    return Call([&o, p] {
      if (p.tb)  // B stored [N,K]: y = B·x
        cblas_sgemv(CblasRowMajor, CblasNoTrans, p.N, p.K, 1.f, o.b.get(), o.ldb, o.a.get(), 1, p.beta, o.c.get(), 1);
      else       // B stored [K,N]: y = Bᵀ·x
        cblas_sgemv(CblasRowMajor, CblasTrans, p.K, p.N, 1.f, o.b.get(), o.ldb, o.a.get(), 1, p.beta, o.c.get(), 1);
    });
  }});
  return v;
}

#elif defined(GEMM_BACKEND_DNNL)

void set_threads(int t) {
  // Debian's libdnnl uses the OpenMP runtime; the driver script also sets OMP_NUM_THREADS.
  omp_set_num_threads(t);
}

std::string config_string() {
  const dnnl_version_t* v = dnnl_version();
  const char* isa = "?";
  switch (dnnl_get_effective_cpu_isa()) {
    case dnnl_cpu_isa_avx2: isa = "avx2"; break;
    case dnnl_cpu_isa_avx2_vnni: isa = "avx2_vnni"; break;
    case dnnl_cpu_isa_avx512_core: isa = "avx512_core"; break;
    case dnnl_cpu_isa_avx512_core_vnni: isa = "avx512_core_vnni"; break;
    case dnnl_cpu_isa_avx512_core_bf16: isa = "avx512_core_bf16"; break;
    default: break;
  }
  char buf[96];
  std::snprintf(buf, sizeof buf, "isa=%s v%d.%d.%d omp=%d", isa, v->major, v->minor, v->patch, omp_get_max_threads());
  return buf;
}

dnnl::engine& engine() { static dnnl::engine e(dnnl::engine::kind::cpu, 0); return e; }
dnnl::stream& stream() { static dnnl::stream s(engine()); return s; }

std::optional<Call> make_matmul(Operands& o, bool packed) {
  using namespace dnnl;
  using tag = memory::format_tag;
  using dt = memory::data_type;
  const Problem& p = o.pb;
  if (packed && !p.b_is_weight) return std::nullopt;
  memory::desc src_md({p.M, p.K}, dt::f32, p.ta ? tag::ba : tag::ab);
  memory::desc w_user_md({p.K, p.N}, dt::f32, p.tb ? tag::ba : tag::ab);
  memory::desc dst_md({p.M, p.N}, dt::f32, tag::ab);
  memory::desc w_md = packed ? memory::desc({p.K, p.N}, dt::f32, tag::any) : w_user_md;
  primitive_attr attr;
  if (p.beta != 0.f) {
    post_ops po;
    po.append_sum(p.beta);
    attr.set_post_ops(po);
  }
  matmul::primitive_desc pd(matmul::desc(src_md, w_md, dst_md), attr, engine());
  memory src(pd.src_desc(), engine(), o.a.get());
  memory dst(pd.dst_desc(), engine(), o.c.get());
  memory w_user(w_user_md, engine(), o.b.get());
  memory w = w_user;
  if (pd.weights_desc() != w_user_md) {  // prepack once, outside the timed region
    w = memory(pd.weights_desc(), engine());
    reorder(w_user, w).execute(stream(), w_user, w);
    stream().wait();
  }
  std::fprintf(stderr, "  [matmul%s %s %s %dx%dx%d] impl=%s weights=%s\n", packed ? "_packed" : "", p.role,
               p.layout, p.M, p.N, p.K, pd.impl_info_str(),
               pd.weights_desc() == w_user_md ? "user layout" : "reordered");
  matmul prim(pd);
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DST, dst}};
  return Call([prim, args] {
    prim.execute(stream(), args);
    stream().wait();
  });
}

std::vector<Variant> variants() {
  std::vector<Variant> v;
  v.push_back({"sgemm", [](Operands& o) -> std::optional<Call> {
    const Problem& p = o.pb;
    return Call([&o, p] {
      dnnl_sgemm(p.ta ? 'T' : 'N', p.tb ? 'T' : 'N', p.M, p.N, p.K, 1.f, o.a.get(), o.lda, o.b.get(), o.ldb,
                 p.beta, o.c.get(), o.ldc);
    });
  }});
  v.push_back({"matmul", [](Operands& o) { return make_matmul(o, false); }});
  v.push_back({"matmul_packed", [](Operands& o) { return make_matmul(o, true); }});
  return v;
}

#elif defined(GEMM_BACKEND_XSMM)

void set_threads(int t) { omp_set_num_threads(t); }

std::string config_string() {
  libxsmm_init();
  char buf[96];
  std::snprintf(buf, sizeof buf, "target=%s v%s omp=%d", libxsmm_get_target_arch(), LIBXSMM_CONFIG_VERSION,
                omp_get_max_threads());
  return buf;
}

// libxsmm kernels are column-major. Row-major C[M,N] = A·B is column-major Cᵀ = Bᵀ·Aᵀ, so the
// kernel's "a" is our B and its "b" is our A. C is cut into tiles of NB columns × MB rows; each tile
// is one JIT kernel call over the full K, and OpenMP spreads the tiles over the threads.
std::optional<Call> make_xsmm(Operands& o, int nb_target, int mb_target) {
  const Problem& p = o.pb;
  const int nb = std::min(p.N, nb_target), mb = std::min(p.M, mb_target);
  if (p.N % nb != 0 || p.M % mb != 0) return std::nullopt;
  int flags = (p.tb ? LIBXSMM_GEMM_FLAG_TRANS_A : 0) | (p.ta ? LIBXSMM_GEMM_FLAG_TRANS_B : 0);
  int prefetch = LIBXSMM_GEMM_PREFETCH_NONE;
  const libxsmm_blasint m = nb, n = mb, k = p.K;
  const libxsmm_blasint lda = o.ldb, ldb = o.lda, ldc = o.ldc;
  const float alpha = 1.f, beta = p.beta;
  libxsmm_smmfunction kern = libxsmm_smmdispatch(m, n, k, &lda, &ldb, &ldc, &alpha, &beta, &flags, &prefetch);
  if (!kern) return std::nullopt;
  const int tiles_n = p.N / nb, tiles_m = p.M / mb;
  return Call([&o, p, kern, nb, mb, tiles_n, tiles_m] {
    const float* A = o.a.get();
    const float* B = o.b.get();
    float* C = o.c.get();
    const int ntiles = tiles_n * tiles_m;
#pragma omp parallel for schedule(static)
    for (int t = 0; t < ntiles; ++t) {
      const int i0 = (t / tiles_n) * mb, j0 = (t % tiles_n) * nb;
      const float* ka = p.tb ? B + size_t(j0) * o.ldb : B + j0;  // columns j0.. of op(B)
      const float* kb = p.ta ? A + i0 : A + size_t(i0) * o.lda;  // rows i0.. of op(A)
      kern(ka, kb, C + size_t(i0) * o.ldc + j0);
    }
  });
}

std::vector<Variant> variants() {
  std::vector<Variant> v;
  // Tile of C handled by one kernel call: NB columns x MB rows (override: GEMM_XSMM_TILE=NBxMB).
  int nb = 64, mb = 64;
  if (const char* e = std::getenv("GEMM_XSMM_TILE")) std::sscanf(e, "%dx%d", &nb, &mb);
  v.push_back({"jit_tiled", [nb, mb](Operands& o) { return make_xsmm(o, nb, mb); }});
  return v;
}

#endif

// ---------------------------------------------------------------------------------------------
// Timing

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double process_cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

// Busy CPU seconds of the whole machine so far (all CPUs), from the first line of /proc/stat.
double machine_busy_s() {
  std::FILE* f = std::fopen("/proc/stat", "r");
  if (!f) return 0;
  unsigned long long v[8] = {};
  int got = std::fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
                        &v[6], &v[7]);
  std::fclose(f);
  if (got < 5) return 0;
  unsigned long long busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];  // all but idle and iowait
  return double(busy) / double(sysconf(_SC_CLK_TCK));
}

struct Timing { size_t reps; double median_s, best_s, others; };

Timing measure(const Call& call, double min_time, size_t min_reps) {
  // Warm-up: at least 3 calls and 20 ms (thread pools wake up, JIT and caches settle).
  double t0 = now_s();
  for (int i = 0; i < 3 || now_s() - t0 < 0.02; ++i) call();
  std::vector<double> t;
  t.reserve(1024);
  const double busy0 = machine_busy_s(), own0 = process_cpu_s();
  const double start = now_s();
  while ((t.size() < min_reps || now_s() - start < min_time) && t.size() < 100000) {
    double a = now_s();
    call();
    t.push_back(now_s() - a);
  }
  const double wall = now_s() - start;
  const double own = process_cpu_s() - own0, busy = machine_busy_s() - busy0;
  const double ncpu = double(sysconf(_SC_NPROCESSORS_ONLN));
  const double others = std::max(0.0, (busy - own) / (wall * ncpu));
  std::sort(t.begin(), t.end());
  double med = t.size() % 2 ? t[t.size() / 2] : 0.5 * (t[t.size() / 2 - 1] + t[t.size() / 2]);
  return {t.size(), med, t.front(), others};
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 1;
  double min_time = 0.15;
  size_t min_reps = 7;
  std::string filter;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> const char* {
      if (i + 1 >= argc) { std::fprintf(stderr, "missing value for %s\n", a.c_str()); std::exit(2); }
      return argv[++i];
    };
    if (a == "--threads") threads = std::atoi(next());
    else if (a == "--min-time") min_time = std::atof(next());
    else if (a == "--min-reps") min_reps = size_t(std::atoi(next()));
    else if (a == "--filter") filter = next();
    else {
      std::fprintf(stderr, "usage: %s --threads T [--min-time S] [--min-reps N] [--filter SUBSTR]\n", argv[0]);
      return 2;
    }
  }
  set_threads(threads);
  const std::string config = config_string();
  std::fprintf(stderr, "%s: %s, threads=%d\n", BACKEND_NAME, config.c_str(), threads);

  int failures = 0;
  for (const Problem& p : make_problems()) {
    for (const Variant& v : variants()) {
      std::string id = std::string(v.name) + " " + p.role + " " + p.shape + " " + p.layout;
      if (!filter.empty() && id.find(filter) == std::string::npos) continue;
      Operands o(p);
      std::optional<Call> call = v.prepare(o);
      if (!call) continue;
      // Correctness: C starts at zero, so one call gives op(A)·op(B) for either beta.
      (*call)();
      std::string why;
      if (!check(o, why)) {
        std::fprintf(stderr, "WRONG RESULT: %s %s: %s\n", BACKEND_NAME, id.c_str(), why.c_str());
        ++failures;
        continue;
      }
      Timing tm = measure(*call, min_time, min_reps);
      const double flop = 2.0 * p.M * p.N * p.K;
      std::printf("%s,%s,%s,%s,%s,%s,%d,%d,%d,%d,%d,%d,%zu,%.2f,%.2f,%.2f,%.2f\n", BACKEND_NAME, config.c_str(), v.name,
                  p.role, p.shape, p.layout, threads, p.M, p.N, p.K, int(p.ta), int(p.tb), tm.reps,
                  tm.median_s * 1e6, flop / tm.median_s * 1e-9, flop / tm.best_s * 1e-9, tm.others);
      std::fflush(stdout);
    }
  }
  return failures ? 1 : 0;
}
