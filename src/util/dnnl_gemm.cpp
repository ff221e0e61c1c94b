// oneDNN matrix products; see dnnl_gemm.hpp.
#include "dnnl_gemm.hpp"

#include <cstring>
#include <optional>
#include <unordered_map>

#include <oneapi/dnnl/dnnl.hpp>

#include "dnnl_context.hpp"

namespace cortado {
namespace {

using dnnl::memory;

memory::desc Matrix(int rows, int cols, bool transposed) {
  // A transposed operand is the stored matrix read column by column.
  return memory::desc({rows, cols}, memory::data_type::f32,
                      transposed ? memory::format_tag::ba : memory::format_tag::ab);
}

struct Shape {
  int m, n, k;
  bool trans_a, trans_b, accumulate;
  bool operator==(const Shape& o) const {
    return m == o.m && n == o.n && k == o.k && trans_a == o.trans_a && trans_b == o.trans_b &&
           accumulate == o.accumulate;
  }
};

struct ShapeHash {
  size_t operator()(const Shape& s) const {
    size_t h = std::hash<int>()(s.m);
    h = h * 31 + std::hash<int>()(s.n);
    h = h * 31 + std::hash<int>()(s.k);
    return h * 8 + (s.trans_a ? 4 : 0) + (s.trans_b ? 2 : 0) + (s.accumulate ? 1 : 0);
  }
};

// A built product and its operands' memory objects, whose pointers are
// bound at each call (creating them per call cost a tenth of LeNet's
// 30-microsecond products).
struct Product {
  dnnl::matmul matmul;
  memory a, b, c;
};

}  // namespace

bool DnnlGemm(Trans trans_a, Trans trans_b, int m, int n, int k, const float* a, const float* b,
              bool accumulate, float* c) {
  // Per thread: oneDNN's shared scratchpad (its default build) lets a
  // primitive run only on the thread that created it. Empty: oneDNN has
  // only its reference kernel for the shape.
  thread_local std::unordered_map<Shape, std::optional<Product>, ShapeHash> products;
  const bool ta = trans_a == Trans::kYes, tb = trans_b == Trans::kYes;
  const auto [entry, fresh] = products.try_emplace(Shape{m, n, k, ta, tb, accumulate});
  std::optional<Product>& product = entry->second;
  if (fresh) {
    const memory::desc a_md = Matrix(m, k, ta), b_md = Matrix(k, n, tb), c_md = Matrix(m, n, false);
    dnnl::primitive_attr attr;
    if (accumulate) {
      dnnl::post_ops sum;
      sum.append_sum(1.f);
      attr.set_post_ops(sum);
    }
    try {
      dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a_md, b_md, c_md), attr, CpuEngine());
      if (std::strncmp(pd.impl_info_str(), "ref", 3) != 0) {
        product = Product{dnnl::matmul(pd), memory(a_md, CpuEngine(), DNNL_MEMORY_NONE),
                          memory(b_md, CpuEngine(), DNNL_MEMORY_NONE),
                          memory(c_md, CpuEngine(), DNNL_MEMORY_NONE)};
      }
    } catch (const dnnl::error&) {
      // No implementation: OpenBLAS takes the product.
    }
  }
  if (!product) return false;
  product->a.set_data_handle(const_cast<float*>(a));
  product->b.set_data_handle(const_cast<float*>(b));
  product->c.set_data_handle(c);
  dnnl::stream& stream = ThreadStream();
  // The C call takes the arguments as an array: the C++ one builds a hash
  // map of them per call, which shows on LeNet's 20-microsecond products.
  const dnnl_exec_arg_t args[] = {{DNNL_ARG_SRC, product->a.get()},
                                  {DNNL_ARG_WEIGHTS, product->b.get()},
                                  {DNNL_ARG_DST, product->c.get()}};
  dnnl::error::wrap_c_api(
      dnnl_primitive_execute(product->matmul.get(), stream.get(), 3, args),
      "could not run a matmul");
  stream.wait();
  return true;
}

bool DnnlSgemm(Trans trans_a, Trans trans_b, int m, int n, int k, float alpha, const float* a,
               const float* b, float beta, float* c) {
  static const bool has_kernels = [] {
    const auto isa = static_cast<unsigned>(dnnl_get_effective_cpu_isa());
    return (isa & dnnl_cpu_isa_avx2) == dnnl_cpu_isa_avx2;
  }();
  if (!has_kernels || m <= 0 || n <= 0 || k <= 0) return false;
  const bool ta = trans_a == Trans::kYes, tb = trans_b == Trans::kYes;
  return dnnl_sgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', m, n, k, alpha, a, ta ? m : k, b,
                    tb ? k : n, beta, c, n) == dnnl_success;
}

}  // namespace cortado
