// libFuzzer target: arbitrary bytes through the instruction decoder in every mode, and what
// decodes through the executor against a vCPU and a memory of arbitrary contents.
// Checks: the decoder never claims more than 15 bytes or more than it was given, and
// decoding or executing never touches memory out of bounds or hits undefined behaviour
// (ASan/UBSan).
#include <stdlib.h>
#include <string.h>

#include "core/insn/decoder.hpp"
#include "core/insn/exec.hpp"
#include "tests/unit/fake_vcpu.hpp"

using namespace tv;
using namespace tv::insn;

namespace {

// Answers reads from the fuzz input itself, so the values are under the fuzzer's control.
class InputMemory final : public InsnMemory {
  public:
    InputMemory(u8 const* d, size_t n) : d_(d), n_(n) {}
    MemResult read(SegReg, u64 off, u8 size, u64* v) override {
        if (size != 1 && size != 2 && size != 4 && size != 8) abort();
        *v = 0;
        for (u8 i = 0; i < size && n_; ++i) *v |= static_cast<u64>(d_[(off + i) % n_]) << (8 * i);
        return (off & 0xF) == 0xF ? MemResult::Retry : MemResult::Ok;
    }
    MemResult write(SegReg, u64, u8 size, u64) override {
        if (size != 1 && size != 2 && size != 4 && size != 8) abort();
        return MemResult::Ok;
    }

  private:
    u8 const* d_;
    size_t n_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(u8 const* data, size_t size) {
    if (size < 1) return 0;
    CpuMode const mode = static_cast<CpuMode>(data[0] % 3);
    u8 const* bytes = data + 1;
    size_t const n = size - 1;
    Insn insn;
    DecodeStatus const s = decode(bytes, n, mode, &insn);
    if (s != DecodeStatus::Ok) return 0;
    if (insn.length == 0 || insn.length > kMaxLength || insn.length > n) abort();
    if (insn.op_size != 1 && insn.op_size != 2 && insn.op_size != 4 && insn.op_size != 8) abort();
    if (insn.mem_size > insn.op_size || insn.mem.scale == 0) abort();

    test::FakeVcpu v;
    for (u8 r = 0; r < 16; ++r) {
        u64 val = 0;
        for (u8 i = 0; i < 8; ++i) val = val << 8 | bytes[(r * 8u + i) % n];
        v.set_reg(static_cast<Reg>(r), val);
    }
    v.rflags_ = 2 | (bytes[0] & 1 ? 0x400 : 0);
    InputMemory mem{data, size};
    (void)execute(insn, v, mem, 64);
    return 0;
}
