// Which instruction-set builds of the module this CPU and OS can run.
// descend/_core.py asks _core_baseline (which runs on any CPU) before it
// imports a faster build, so detection needs nothing from NumPy.
#include "register.hpp"

#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
#include <cpuid.h>
#define DESCEND_DETECT_X86 1
#endif

namespace descend::bindings {

namespace {

#ifdef DESCEND_DETECT_X86
// XCR0 state components the OS saves on a context switch: an instruction
// set whose registers the OS does not save faults (AVX) or corrupts state,
// even where CPUID lists it. __builtin_cpu_supports checks this only in
// newer compilers' runtimes, so check it here.
constexpr unsigned long long kXcr0Avx = (1u << 1) | (1u << 2);  // SSE, AVX (YMM upper halves)
constexpr unsigned long long kXcr0Avx512 =
    kXcr0Avx | (1u << 5) | (1u << 6) | (1u << 7);  // opmask, ZMM0-15 upper halves, ZMM16-31

unsigned long long os_saved_state() {
  unsigned int eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return 0;
  if (!(ecx & bit_OSXSAVE)) return 0;  // xgetbv would fault
  unsigned int lo = 0, hi = 0;
  // The mnemonic, not _xgetbv: that intrinsic needs -mxsave, which the
  // baseline build is not compiled with.
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (static_cast<unsigned long long>(hi) << 32) | lo;
}
#endif

// Build names this machine runs, fastest first; "baseline" always.
pybind11::tuple cpu_supports() {
  bool avx2 = false, avx512 = false;
#ifdef DESCEND_DETECT_X86
  __builtin_cpu_init();
  const unsigned long long xcr0 = os_saved_state();
  // The flags each build is compiled with (CMakeLists.txt: descend_module).
  avx2 = (xcr0 & kXcr0Avx) == kXcr0Avx && __builtin_cpu_supports("avx2") &&
         __builtin_cpu_supports("fma");
  avx512 = avx2 && (xcr0 & kXcr0Avx512) == kXcr0Avx512 && __builtin_cpu_supports("avx512f") &&
           __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
#endif
  if (avx512) return pybind11::make_tuple("avx512", "avx2", "baseline");
  if (avx2) return pybind11::make_tuple("avx2", "baseline");
  return pybind11::make_tuple("baseline");
}

}  // namespace

void register_cpu(pybind11::module_& m) {
  m.def("cpu_supports", &cpu_supports,
        "Names of the builds of this module the CPU and OS can run, fastest first "
        "(\"avx512\", \"avx2\", \"baseline\"); \"baseline\" always.");
}

}  // namespace descend::bindings
