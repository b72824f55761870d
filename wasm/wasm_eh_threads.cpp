// C++ exceptions in the threads build. Debian's clang 14 writes the landing
// pad context of WebAssembly exception handling (__wasm_lpad_context: which
// landing pad, its LSDA, and the selector the personality answers with) to
// an ordinary global, while emscripten 3.1.6's libunwind built with -pthread
// declares it thread_local. In the threads build the two then disagree about
// where it lives: every `catch (...)` still works, but no typed catch ever
// matches, so an iciia::Error escapes as a bare WebAssembly.Exception. (LLVM
// 15 makes the compiler's side thread_local too.)
//
// Defining the few unwinder entry points WebAssembly exception handling uses
// here, around an ordinary global as the compiler expects, keeps libunwind's
// version out of the link. The context is then shared by all threads: two
// threads unwinding at the same moment could mix their selectors. Only the
// calling thread throws in this library (pool workers run kernels, which
// never do; ThreadPool catches anything anyway), so that cannot happen here.
#include <unwind.h>

#include <cstdint>

extern "C" {

struct _Unwind_LandingPadContext {
  uintptr_t lpad_index;  // written by compiled code before calling the personality
  uintptr_t lsda;        // idem
  uintptr_t selector;    // written by the personality (_Unwind_SetGR index 1)
};

struct _Unwind_LandingPadContext __wasm_lpad_context;

_Unwind_Reason_Code __gxx_personality_wasm0(int version, _Unwind_Action actions, uint64_t exception_class,
                                            struct _Unwind_Exception* exception_object,
                                            struct _Unwind_Context* context);

// Called from each landing pad: WebAssembly has no separate search phase, so
// the personality runs once, in the cleanup phase, and leaves its selector.
_Unwind_Reason_Code _Unwind_CallPersonality(void* exception_ptr) {
  struct _Unwind_Exception* e = static_cast<struct _Unwind_Exception*>(exception_ptr);
  __wasm_lpad_context.selector = 0;
  return __gxx_personality_wasm0(1, _UA_CLEANUP_PHASE, e->exception_class, e,
                                 (struct _Unwind_Context*)&__wasm_lpad_context);
}

_Unwind_Reason_Code _Unwind_RaiseException(struct _Unwind_Exception* exception_object) {
  __builtin_wasm_throw(0, exception_object);  // tag 0: C++ exceptions
}

void _Unwind_DeleteException(struct _Unwind_Exception* exception_object) {
  if (exception_object->exception_cleanup)
    exception_object->exception_cleanup(_URC_FOREIGN_EXCEPTION_CAUGHT, exception_object);
}

void _Unwind_SetGR(struct _Unwind_Context* context, int index, _Unwind_Word value) {
  if (index == 1) ((struct _Unwind_LandingPadContext*)context)->selector = value;
}

// The personality looks its call site up by "IP": for WebAssembly that is
// the landing pad's index, offset so that its `ip - 1` is the 1-based index.
_Unwind_Word _Unwind_GetIP(struct _Unwind_Context* context) {
  return ((struct _Unwind_LandingPadContext*)context)->lpad_index + 2;
}

void _Unwind_SetIP(struct _Unwind_Context* context, _Unwind_Word value) {}

void* _Unwind_GetLanguageSpecificData(struct _Unwind_Context* context) {
  return (void*)((struct _Unwind_LandingPadContext*)context)->lsda;
}

_Unwind_Ptr _Unwind_GetRegionStart(struct _Unwind_Context* context) { return 0; }

}  // extern "C"
