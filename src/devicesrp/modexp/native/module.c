/* Python binding of the native core: devicesrp.modexp._core.
 *
 * Modulus(n, path) holds the Montgomery context of one public modulus for one CPU path;
 * FixedTable holds an immutable fixed-base table. Every argument that may be secret is bytes;
 * inputs are copied before the GIL is released (the copies are wiped afterwards), and results come
 * back as len(N)-byte big-endian strings. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "core.h"

typedef struct {
    PyObject_HEAD
    mont_ctx ctx;
} ModulusObject;

typedef struct {
    PyObject_HEAD
    ModulusObject *modulus;
    fixed_table table;
} FixedTableObject;

static PyTypeObject ModulusType;
static PyTypeObject FixedTableType;

/* An owned, wipe-on-release copy of a bytes argument (secret or not). */
typedef struct {
    unsigned char *p;
    size_t len;
} arg_copy;

static int copy_arg(arg_copy *c, const char *src, Py_ssize_t len) {
    c->len = (size_t)len;
    c->p = malloc(len > 0 ? (size_t)len : 1);
    if (c->p == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    memcpy(c->p, src, (size_t)len);
    return 0;
}

static void drop_arg(arg_copy *c) {
    ct_free(c->p, c->len);
    c->p = NULL;
}

static PyObject *result_or_error(int rc, const unsigned char *out, size_t len) {
    if (rc == -1) {
        PyErr_SetString(PyExc_ValueError, "argument outside the native core's contract");
        return NULL;
    }
    if (rc != 0) return PyErr_NoMemory();
    return PyBytes_FromStringAndSize((const char *)out, (Py_ssize_t)len);
}

/* A Modulus is usable once __init__ succeeded; it is never re-initialised (threads may be using
 * it without the GIL). */
static int ready(ModulusObject *self) {
    if (self->ctx.kernel == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "Modulus is not initialised");
        return 0;
    }
    return 1;
}

static const fixed_table *table_arg(ModulusObject *self, PyObject *obj, int *bad) {
    *bad = 0;
    if (obj == Py_None) return NULL;
    if (!PyObject_TypeCheck(obj, &FixedTableType) || ((FixedTableObject *)obj)->modulus != self) {
        PyErr_SetString(PyExc_TypeError, "table must be a FixedTable of this Modulus or None");
        *bad = 1;
        return NULL;
    }
    return &((FixedTableObject *)obj)->table;
}

static int Modulus_init(ModulusObject *self, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"n", "path", "generic", NULL};
    const char *n, *path;
    Py_ssize_t n_len;
    int generic = 0; /* portable path: refuse MULX/ADX even where the CPU has it (tests) */
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "y#s|p", kwlist, &n, &n_len, &path, &generic))
        return -1;
    int kernel;
    if (strcmp(path, "portable") == 0) {
        kernel = !generic && cpu_has_adx() ? KERNEL_ADX : KERNEL_GENERIC;
    } else if (strcmp(path, "ifma") == 0) {
        if (!cpu_has_ifma()) {
            PyErr_SetString(PyExc_RuntimeError, "this CPU (or OS) does not support AVX-512 IFMA");
            return -1;
        }
        kernel = KERNEL_IFMA;
    } else {
        PyErr_SetString(PyExc_ValueError, "path must be 'portable' or 'ifma'");
        return -1;
    }
    if (self->ctx.kernel != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "Modulus is already initialised");
        return -1;
    }
    int rc = mont_init(&self->ctx, (const unsigned char *)n, (size_t)n_len, kernel);
    if (rc == -1) {
        PyErr_SetString(PyExc_ValueError, "modulus must be odd, > 1 and at most 8192 bits");
        return -1;
    }
    if (rc != 0) {
        PyErr_NoMemory();
        return -1;
    }
    return 0;
}

static void Modulus_dealloc(ModulusObject *self) {
    mont_free(&self->ctx);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *Modulus_powmod_secret(ModulusObject *self, PyObject *args) {
    const char *base, *exp;
    Py_ssize_t base_len, exp_len, exp_bits;
    if (!PyArg_ParseTuple(args, "y#y#n", &base, &base_len, &exp, &exp_len, &exp_bits)) return NULL;
    if (!ready(self)) return NULL;
    const mont_ctx *ctx = &self->ctx;
    if ((size_t)base_len > ctx->nbytes || exp_bits < 1 || (size_t)exp_len != ((size_t)exp_bits + 7) / 8) {
        PyErr_SetString(PyExc_ValueError, "base longer than N or exp not ceil(exp_bits/8) bytes");
        return NULL;
    }
    arg_copy b, e;
    if (copy_arg(&b, base, base_len) < 0) return NULL;
    if (copy_arg(&e, exp, exp_len) < 0) {
        drop_arg(&b);
        return NULL;
    }
    unsigned char out[MAX_MODULUS_BITS / 8];
    int rc;
    Py_BEGIN_ALLOW_THREADS
    limb_t x[MAX_WIDTH] __attribute__((aligned(64)));
    mont_from_bytes(ctx, x, b.p, b.len);
    rc = exp_secret(ctx, x, x, e.p, e.len, (size_t)exp_bits);
    if (rc == 0) mont_to_bytes(ctx, out, x);
    ct_wipe(x, sizeof x);
    Py_END_ALLOW_THREADS
    drop_arg(&b);
    drop_arg(&e);
    PyObject *res = result_or_error(rc, out, ctx->nbytes);
    ct_wipe(out, sizeof out);
    return res;
}

static PyObject *Modulus_powmod_public(ModulusObject *self, PyObject *args) {
    const char *base, *exp;
    Py_ssize_t base_len, exp_len;
    if (!PyArg_ParseTuple(args, "y#y#", &base, &base_len, &exp, &exp_len)) return NULL;
    if (!ready(self)) return NULL;
    const mont_ctx *ctx = &self->ctx;
    if ((size_t)base_len > ctx->nbytes) {
        PyErr_SetString(PyExc_ValueError, "base longer than N");
        return NULL;
    }
    arg_copy b, e;
    if (copy_arg(&b, base, base_len) < 0) return NULL;
    if (copy_arg(&e, exp, exp_len) < 0) {
        drop_arg(&b);
        return NULL;
    }
    unsigned char out[MAX_MODULUS_BITS / 8];
    int rc;
    Py_BEGIN_ALLOW_THREADS
    limb_t x[MAX_WIDTH] __attribute__((aligned(64)));
    limb_t y[MAX_WIDTH] __attribute__((aligned(64)));
    mont_from_bytes(ctx, x, b.p, b.len);
    rc = exp_public(ctx, y, x, e.p, e.len);
    if (rc == 0) mont_to_bytes(ctx, out, y);
    ct_wipe(x, sizeof x);
    ct_wipe(y, sizeof y);
    Py_END_ALLOW_THREADS
    drop_arg(&b);
    drop_arg(&e);
    PyObject *res = result_or_error(rc, out, ctx->nbytes);
    ct_wipe(out, sizeof out);
    return res;
}

static PyObject *Modulus_fixed_base(ModulusObject *self, PyObject *args) {
    const char *base;
    Py_ssize_t base_len, exp_bits;
    if (!PyArg_ParseTuple(args, "y#n", &base, &base_len, &exp_bits)) return NULL;
    if (!ready(self)) return NULL;
    if ((size_t)base_len > self->ctx.nbytes || exp_bits < 1 || exp_bits > 65536) {
        PyErr_SetString(PyExc_ValueError, "base longer than N or exp_bits out of range");
        return NULL;
    }
    FixedTableObject *t = PyObject_New(FixedTableObject, &FixedTableType);
    if (t == NULL) return NULL;
    memset(&t->table, 0, sizeof t->table);
    Py_INCREF(self);
    t->modulus = self;
    arg_copy b;
    if (copy_arg(&b, base, base_len) < 0) {
        Py_DECREF(t);
        return NULL;
    }
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = fixed_build(&self->ctx, &t->table, b.p, b.len, (size_t)exp_bits);
    Py_END_ALLOW_THREADS
    drop_arg(&b);
    if (rc != 0) {
        Py_DECREF(t);
        return PyErr_NoMemory();
    }
    return (PyObject *)t;
}

static PyObject *Modulus_g_pow(ModulusObject *self, PyObject *args) {
    const char *g, *x;
    Py_ssize_t g_len, x_len;
    PyObject *table_obj;
    if (!PyArg_ParseTuple(args, "y#y#O", &g, &g_len, &x, &x_len, &table_obj)) return NULL;
    int bad;
    const fixed_table *table = table_arg(self, table_obj, &bad);
    if (bad) return NULL;
    if (!ready(self)) return NULL;
    const mont_ctx *ctx = &self->ctx;
    if ((size_t)g_len > ctx->nbytes || x_len < 1) {
        PyErr_SetString(PyExc_ValueError, "g longer than N or empty exponent");
        return NULL;
    }
    arg_copy xc;
    if (copy_arg(&xc, x, x_len) < 0) return NULL;
    unsigned char out[MAX_MODULUS_BITS / 8];
    int rc;
    Py_BEGIN_ALLOW_THREADS
    limb_t r[MAX_WIDTH] __attribute__((aligned(64)));
    rc = srp_g_pow(ctx, table, (const unsigned char *)g, (size_t)g_len, r, xc.p, xc.len);
    if (rc == 0) mont_to_bytes(ctx, out, r);
    ct_wipe(r, sizeof r);
    Py_END_ALLOW_THREADS
    drop_arg(&xc);
    PyObject *res = result_or_error(rc, out, ctx->nbytes);
    ct_wipe(out, sizeof out);
    return res;
}

static PyObject *Modulus_srp_server_public(ModulusObject *self, PyObject *args) {
    const char *g, *k, *v, *b;
    Py_ssize_t g_len, k_len, v_len, b_len;
    PyObject *table_obj;
    if (!PyArg_ParseTuple(args, "y#y#y#y#O", &g, &g_len, &k, &k_len, &v, &v_len, &b, &b_len,
                          &table_obj))
        return NULL;
    int bad;
    const fixed_table *table = table_arg(self, table_obj, &bad);
    if (bad) return NULL;
    if (!ready(self)) return NULL;
    const mont_ctx *ctx = &self->ctx;
    if ((size_t)g_len > ctx->nbytes || (size_t)k_len > ctx->nbytes || (size_t)v_len != ctx->nbytes ||
        b_len < 1) {
        PyErr_SetString(PyExc_ValueError, "g, k, v or b has the wrong length");
        return NULL;
    }
    arg_copy vc, bc;
    if (copy_arg(&vc, v, v_len) < 0) return NULL;
    if (copy_arg(&bc, b, b_len) < 0) {
        drop_arg(&vc);
        return NULL;
    }
    unsigned char out[MAX_MODULUS_BITS / 8];
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = srp_server_public(ctx, table, (const unsigned char *)g, (size_t)g_len,
                           (const unsigned char *)k, (size_t)k_len, vc.p, bc.p, bc.len, out);
    Py_END_ALLOW_THREADS
    drop_arg(&vc);
    drop_arg(&bc);
    return result_or_error(rc, out, ctx->nbytes);
}

static PyObject *Modulus_srp_client_premaster(ModulusObject *self, PyObject *args) {
    const char *g, *k, *x, *a, *u, *bp;
    Py_ssize_t g_len, k_len, x_len, a_len, u_len, u_bits, bp_len;
    PyObject *table_obj;
    if (!PyArg_ParseTuple(args, "y#y#y#y#y#ny#O", &g, &g_len, &k, &k_len, &x, &x_len, &a, &a_len,
                          &u, &u_len, &u_bits, &bp, &bp_len, &table_obj))
        return NULL;
    int bad;
    const fixed_table *table = table_arg(self, table_obj, &bad);
    if (bad) return NULL;
    if (!ready(self)) return NULL;
    const mont_ctx *ctx = &self->ctx;
    if ((size_t)g_len > ctx->nbytes || (size_t)k_len > ctx->nbytes || (size_t)bp_len > ctx->nbytes ||
        x_len < 1 || a_len < 1 || u_bits < 0 || (size_t)u_bits > 8 * (size_t)u_len) {
        PyErr_SetString(PyExc_ValueError, "an argument has the wrong length");
        return NULL;
    }
    arg_copy xc, ac;
    if (copy_arg(&xc, x, x_len) < 0) return NULL;
    if (copy_arg(&ac, a, a_len) < 0) {
        drop_arg(&xc);
        return NULL;
    }
    unsigned char out[MAX_MODULUS_BITS / 8];
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = srp_client_premaster(ctx, table, (const unsigned char *)g, (size_t)g_len,
                              (const unsigned char *)k, (size_t)k_len, xc.p, xc.len, ac.p, ac.len,
                              (const unsigned char *)u, (size_t)u_len, (size_t)u_bits,
                              (const unsigned char *)bp, (size_t)bp_len, out);
    Py_END_ALLOW_THREADS
    drop_arg(&xc);
    drop_arg(&ac);
    PyObject *res = result_or_error(rc, out, ctx->nbytes);
    ct_wipe(out, sizeof out);
    return res;
}

static PyObject *Modulus_srp_server_premaster(ModulusObject *self, PyObject *args) {
    const char *ap, *v, *u, *b;
    Py_ssize_t ap_len, v_len, u_len, b_len;
    if (!PyArg_ParseTuple(args, "y#y#y#y#", &ap, &ap_len, &v, &v_len, &u, &u_len, &b, &b_len))
        return NULL;
    if (!ready(self)) return NULL;
    const mont_ctx *ctx = &self->ctx;
    if ((size_t)ap_len > ctx->nbytes || (size_t)v_len != ctx->nbytes || b_len < 1) {
        PyErr_SetString(PyExc_ValueError, "A, v or b has the wrong length");
        return NULL;
    }
    arg_copy vc, bc, uc;
    if (copy_arg(&vc, v, v_len) < 0) return NULL;
    if (copy_arg(&bc, b, b_len) < 0) {
        drop_arg(&vc);
        return NULL;
    }
    if (copy_arg(&uc, u, u_len) < 0) {
        drop_arg(&vc);
        drop_arg(&bc);
        return NULL;
    }
    unsigned char out[MAX_MODULUS_BITS / 8];
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = srp_server_premaster(ctx, (const unsigned char *)ap, (size_t)ap_len, vc.p, uc.p, uc.len,
                              bc.p, bc.len, out);
    Py_END_ALLOW_THREADS
    drop_arg(&vc);
    drop_arg(&bc);
    drop_arg(&uc);
    PyObject *res = result_or_error(rc, out, ctx->nbytes);
    ct_wipe(out, sizeof out);
    return res;
}

static PyObject *Modulus_get_nbytes(ModulusObject *self, void *closure) {
    (void)closure;
    if (!ready(self)) return NULL;
    return PyLong_FromSize_t(self->ctx.nbytes);
}

static PyObject *Modulus_get_path(ModulusObject *self, void *closure) {
    (void)closure;
    if (!ready(self)) return NULL;
    return PyUnicode_FromString(self->ctx.kernel->name);
}

static PyObject *Modulus_get_kernel(ModulusObject *self, void *closure) {
    (void)closure;
    if (!ready(self)) return NULL;
    const kernel_t *k = self->ctx.kernel;
    return PyUnicode_FromString(k == &kernel_ifma  ? "AVX-512 IFMA, 52-bit digits"
                                : k == &kernel_adx ? "64-bit limbs, MULX/ADX"
                                                   : "64-bit limbs, C");
}

static PyMethodDef Modulus_methods[] = {
    {"powmod_secret", (PyCFunction)Modulus_powmod_secret, METH_VARARGS,
     "powmod_secret(base, exp, exp_bits) -> bytes: base^exp, fixed window, constant time"},
    {"powmod_public", (PyCFunction)Modulus_powmod_public, METH_VARARGS,
     "powmod_public(base, exp) -> bytes: sliding window, variable time in exp only"},
    {"fixed_base", (PyCFunction)Modulus_fixed_base, METH_VARARGS,
     "fixed_base(base, exp_bits) -> FixedTable"},
    {"g_pow", (PyCFunction)Modulus_g_pow, METH_VARARGS,
     "g_pow(g, x, table) -> bytes: g^x through the table when it covers len(x)"},
    {"srp_server_public", (PyCFunction)Modulus_srp_server_public, METH_VARARGS,
     "srp_server_public(g, k, v, b, table) -> bytes: k v + g^b"},
    {"srp_client_premaster", (PyCFunction)Modulus_srp_client_premaster, METH_VARARGS,
     "srp_client_premaster(g, k, x, a, u, u_bits, B, table) -> bytes: (B - k g^x)^(a + u x)"},
    {"srp_server_premaster", (PyCFunction)Modulus_srp_server_premaster, METH_VARARGS,
     "srp_server_premaster(A, v, u, b) -> bytes: (A v^u)^b"},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Modulus_getset[] = {
    {"nbytes", (getter)Modulus_get_nbytes, NULL, "byte length of N", NULL},
    {"path", (getter)Modulus_get_path, NULL, "the multiplier kernel: portable or ifma", NULL},
    {"kernel", (getter)Modulus_get_kernel, NULL, "the multiplier kernel in words", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject ModulusType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "devicesrp.modexp._core.Modulus",
    .tp_basicsize = sizeof(ModulusObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Modulus(n: bytes, path: str): Montgomery context of one odd modulus",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Modulus_init,
    .tp_dealloc = (destructor)Modulus_dealloc,
    .tp_methods = Modulus_methods,
    .tp_getset = Modulus_getset,
};

static PyObject *FixedTable_pow(FixedTableObject *self, PyObject *args) {
    const char *exp;
    Py_ssize_t exp_len;
    if (!PyArg_ParseTuple(args, "y#", &exp, &exp_len)) return NULL;
    const mont_ctx *ctx = &self->modulus->ctx;
    if (exp_len < 1 || (size_t)exp_len > (self->table.exp_bits + 7) / 8) {
        PyErr_SetString(PyExc_ValueError, "exp longer than the table's exp_bits");
        return NULL;
    }
    arg_copy e;
    if (copy_arg(&e, exp, exp_len) < 0) return NULL;
    unsigned char out[MAX_MODULUS_BITS / 8];
    int rc;
    Py_BEGIN_ALLOW_THREADS
    limb_t r[MAX_WIDTH] __attribute__((aligned(64)));
    rc = fixed_pow(ctx, &self->table, r, e.p, e.len);
    if (rc == 0) mont_to_bytes(ctx, out, r);
    ct_wipe(r, sizeof r);
    Py_END_ALLOW_THREADS
    drop_arg(&e);
    PyObject *res = result_or_error(rc, out, ctx->nbytes);
    ct_wipe(out, sizeof out);
    return res;
}

static void FixedTable_dealloc(FixedTableObject *self) {
    if (self->modulus != NULL) {
        fixed_free(&self->modulus->ctx, &self->table);
        Py_DECREF(self->modulus);
    }
    PyObject_Free(self);
}

static PyObject *FixedTable_info(FixedTableObject *self, void *closure) {
    (void)closure;
    return Py_BuildValue("{s:n,s:n,s:n}", "exp_bits", (Py_ssize_t)self->table.exp_bits, "window",
                         (Py_ssize_t)self->table.window, "table_bytes",
                         (Py_ssize_t)fixed_bytes(&self->table));
}

static PyMethodDef FixedTable_methods[] = {
    {"pow", (PyCFunction)FixedTable_pow, METH_VARARGS,
     "pow(exp) -> bytes: base^exp with masked full-row scans (len(exp) <= ceil(exp_bits/8))"},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef FixedTable_getset[] = {
    {"info", (getter)FixedTable_info, NULL, "exp_bits, window and table size in bytes", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject FixedTableType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "devicesrp.modexp._core.FixedTable",
    .tp_basicsize = sizeof(FixedTableObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Immutable fixed-base table; made by Modulus.fixed_base",
    .tp_dealloc = (destructor)FixedTable_dealloc,
    .tp_methods = FixedTable_methods,
    .tp_getset = FixedTable_getset,
};

static PyObject *core_cpu_has_ifma(PyObject *mod, PyObject *unused) {
    (void)mod;
    (void)unused;
    return PyBool_FromLong(cpu_has_ifma());
}

static PyObject *core_cpu_has_adx(PyObject *mod, PyObject *unused) {
    (void)mod;
    (void)unused;
    return PyBool_FromLong(cpu_has_adx());
}

static PyMethodDef core_methods[] = {
    {"cpu_has_ifma", core_cpu_has_ifma, METH_NOARGS,
     "True when CPUID and XGETBV say AVX-512 IFMA may be used"},
    {"cpu_has_adx", core_cpu_has_adx, METH_NOARGS,
     "True when the portable path uses MULX/ADX (BMI2 and ADX in CPUID)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef core_module = {
    PyModuleDef_HEAD_INIT, "devicesrp.modexp._core",
    "Native constant-time modexp core (portable and AVX-512 IFMA kernels)", -1, core_methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__core(void) {
    if (PyType_Ready(&ModulusType) < 0 || PyType_Ready(&FixedTableType) < 0) return NULL;
    PyObject *m = PyModule_Create(&core_module);
    if (m == NULL) return NULL;
    if (PyModule_AddObjectRef(m, "Modulus", (PyObject *)&ModulusType) < 0 ||
        PyModule_AddObjectRef(m, "FixedTable", (PyObject *)&FixedTableType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
