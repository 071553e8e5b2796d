// The few dense kernels the trainer needs: a row-major matrix product over the BLAS (OpenBLAS),
// and linear layers' forward and backward on top of it. Matrices are row-major float32, weights
// stored [in x out] so a layer is y = x·W + b.
#pragma once

#include <cstddef>

namespace trainer {

enum class Transpose { No, Yes };

// C[m x n] = alpha · op(A) · op(B) + beta · C, op(A) [m x k], op(B) [k x n]; lda/ldb/ldc are the
// row strides of the matrices as stored.
void gemm(Transpose ta, Transpose tb, int m, int n, int k, float alpha, const float* a, int lda, const float* b,
          int ldb, float beta, float* c, int ldc);

// y[rows x out] = x[rows x in] · w[in x out] + bias (bias may be null).
void linearForward(const float* x, const float* w, const float* bias, float* y, int rows, int in, int out);

// Accumulates dW += xᵀ·dy and dBias += Σ dy (dBias may be null); dx = dy·Wᵀ, added to dx when
// `accumulateDx`, else written (dx may be null: not wanted).
void linearBackward(const float* x, const float* w, const float* dy, float* dx, float* dw, float* dbias, int rows,
                    int in, int out, bool accumulateDx);

// Restricts the BLAS to one thread (ranks are processes; each gets its own core share).
void setBlasThreads(int threads);

}  // namespace trainer
