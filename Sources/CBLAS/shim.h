// OpenBLAS from Debian's libopenblas-dev: CBLAS plus the Fortran LAPACK symbols.
// Debian ships no LAPACKE header, so the few LAPACK routines we call are declared
// here by hand (column-major, every argument by pointer).
#include <cblas.h>

void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);

// Symmetric eigenvalues/eigenvectors (double and single precision).
void dsyev_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda,
            double *w, double *work, const int *lwork, int *info);
void ssyev_(const char *jobz, const char *uplo, const int *n, float *a, const int *lda,
            float *w, float *work, const int *lwork, int *info);
// Cholesky factorisation.
void dpotrf_(const char *uplo, const int *n, double *a, const int *lda, int *info);
void spotrf_(const char *uplo, const int *n, float *a, const int *lda, int *info);
