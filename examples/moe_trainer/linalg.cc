#include "linalg.h"

#include <cblas.h>

namespace trainer {

void gemm(Transpose ta, Transpose tb, int m, int n, int k, float alpha, const float* a, int lda, const float* b,
          int ldb, float beta, float* c, int ldc) {
  if (m == 0 || n == 0) return;
  if (k == 0) {
    // The BLAS leaves C untouched for k = 0 only when beta is 1; make the contract explicit.
    for (int i = 0; i < m; ++i)
      for (int j = 0; j < n; ++j) c[static_cast<size_t>(i) * ldc + j] *= beta;
    return;
  }
  cblas_sgemm(CblasRowMajor, ta == Transpose::Yes ? CblasTrans : CblasNoTrans,
              tb == Transpose::Yes ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void linearForward(const float* x, const float* w, const float* bias, float* y, int rows, int in, int out) {
  for (int r = 0; r < rows; ++r) {
    float* row = y + static_cast<size_t>(r) * out;
    for (int j = 0; j < out; ++j) row[j] = bias ? bias[j] : 0.0f;
  }
  gemm(Transpose::No, Transpose::No, rows, out, in, 1.0f, x, in, w, out, 1.0f, y, out);
}

void linearBackward(const float* x, const float* w, const float* dy, float* dx, float* dw, float* dbias, int rows,
                    int in, int out, bool accumulateDx) {
  gemm(Transpose::Yes, Transpose::No, in, out, rows, 1.0f, x, in, dy, out, 1.0f, dw, out);
  if (dbias) {
    for (int r = 0; r < rows; ++r) {
      const float* row = dy + static_cast<size_t>(r) * out;
      for (int j = 0; j < out; ++j) dbias[j] += row[j];
    }
  }
  if (dx) gemm(Transpose::No, Transpose::Yes, rows, in, out, 1.0f, dy, out, w, out, accumulateDx ? 1.0f : 0.0f, dx, in);
}

void setBlasThreads(int threads) { openblas_set_num_threads(threads); }

}  // namespace trainer
