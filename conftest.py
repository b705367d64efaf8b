"""Repository-wide pytest settings.

One BLAS thread for the test run: on a 2-core machine the test process and a notebook
kernel (nbval) run side by side, and two-thread OpenBLAS then stalls on the small matrix
products these tests make. Kernels started by nbval inherit the setting.
"""
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
