/* The writer's hot path in C, for the common record only; the Python code does the rest.
 *
 * A batch of captured records to JSON lines, mirroring record.record_parts,
 * record.assemble and encode.line_of: the same document, keys in the same
 * order, the same redaction decisions, encoded by the same orjson call.
 *
 * Anything unusual (an exception or stack, a key that collides with ours, a
 * nested value to redact, a key the redactor has not judged yet, a null, a
 * non-ASCII or over-long line, any error at all) is declined, and the Python
 * code handles it. tests/test_speedups.py proves the two agree byte for byte
 * on hostile input.
 *
 * It renders only our own document; the LogRecord and the method that makes it are
 * stdlib's (or whatever wraps them), never rebuilt here. It uses the public C API
 * only: no private functions, and no other type's struct layout.
 *
 * Why C: with one GIL, every microsecond spent per record, on either thread,
 * is a microsecond taken from the threads that log. In Python the writer's
 * work alone costs about 8 us a record, most of it bytecode dispatch; here it
 * costs the orjson call and a little more.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Set once by configure(): names that live in fields.py, the single source. */
static PyObject *NOT_EXTRA;      /* frozenset: record attributes that are not extras */
static PyObject *RESERVED;       /* frozenset: our document keys */
static PyObject *LAST_OWN;       /* the last attribute LogRecord.__init__ sets */
static Py_ssize_t FIRST_EXTRA;   /* how many attributes LogRecord.__init__ sets */
static PyObject *K_MESSAGE, *K_CONTEXT, *K_EXCEPTION; /* what capture() adds */
static PyObject *K_FROZEN;       /* our makeRecord: the keys of the extras it froze */
static PyObject *D_KEYS[10];     /* timestamp ... thread_name, in document order */
static PyObject *REDACTED;
static PyObject *KWNAMES;        /* ("default", "option") for the orjson call */
static Py_ssize_t SHORTEST_SHAPE;  /* redact.SHORTEST_SHAPE */
static Py_ssize_t TOKEN_RUN;       /* redact.TOKEN_RUN */
static char URL_MARKER[16];       /* redact.URL_MARKER */
static int configured = 0;

/* stdlib's LogRecord attribute names. */
static PyObject *A_EXC_INFO, *A_STACK_INFO, *A_CREATED, *A_LEVELNAME, *A_LEVELNO, *A_NAME,
    *A_MODULE, *A_FUNCNAME, *A_LINENO, *A_PROCESS, *A_PROCESSNAME, *A_THREADNAME;

/* The gate of Redactor.text: a string holding none of these literals in any case
 * (nor URL_MARKER), and no run of TOKEN_RUN token characters, is returned
 * unchanged without a call to Python. Built once per batch. */
#define MAX_LITERALS 64
typedef struct {
    int usable;                       /* 0: every long string goes to Redactor.text */
    signed char head[128];            /* the first literal starting with (folded) c, or -1 */
    signed char next[MAX_LITERALS];   /* the next literal with the same first character */
    int count;
    const char *text[MAX_LITERALS];   /* ASCII, borrowed from the settings tuple */
    Py_ssize_t size[MAX_LITERALS];
} Gate;

/* The redaction and encoding settings of one pipeline, unpacked per batch. */
typedef struct {
    PyObject *identity;    /* dict */
    Py_ssize_t limit;      /* the line, newline included, must not be longer */
    long console_level;    /* records at or above it need the Python path (parts) */
    int redact;
    PyObject *key_cache;   /* dict str -> bool */
    PyObject *literals;    /* tuple of str, or None: no gate */
    int has_patterns;
    PyObject *text;        /* Redactor.text */
    PyObject *dumps;       /* orjson.dumps */
    PyObject *dflt;        /* encode._default */
    PyObject *option;      /* OPT_APPEND_NEWLINE */
    Gate gate;
} Settings;

/* 1: go on, 0: this record takes the Python path, -1: error (also the Python path). */
#define SLOW 0

static int gate_add(Gate *gate, const char *text, Py_ssize_t size) {
    if (size == 0 || gate->count == MAX_LITERALS) {
        return 0;
    }
    int first = Py_TOLOWER((unsigned char)text[0]);
    if (first > 127) {
        return 0;
    }
    gate->text[gate->count] = text;
    gate->size[gate->count] = size;
    gate->next[gate->count] = gate->head[first];
    gate->head[first] = (signed char)gate->count;
    gate->count++;
    return 1;
}

static void gate_build(Gate *gate, PyObject *literals) {
    memset(gate, 0, sizeof *gate);
    memset(gate->head, -1, sizeof gate->head);
    if (!PyTuple_Check(literals)) {
        return;
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(literals); i++) {
        PyObject *literal = PyTuple_GET_ITEM(literals, i);
        if (!PyUnicode_Check(literal) || !PyUnicode_IS_ASCII(literal)
            || !gate_add(gate, (const char *)PyUnicode_1BYTE_DATA(literal),
                         PyUnicode_GET_LENGTH(literal))) {
            return; /* unusable: every long string goes to Python */
        }
    }
    gate->usable = gate_add(gate, URL_MARKER, (Py_ssize_t)strlen(URL_MARKER));
}

/* The gate of the last literals tuple seen (a redactor's, which lives as long as
 * its pipeline): built once, not per call. It holds the tuple, whose strings
 * the gate borrows. */
static Gate LAST_GATE;
static PyObject *LAST_LITERALS;

static const Gate *gate_for(PyObject *literals) {
    if (literals != LAST_LITERALS) {
        gate_build(&LAST_GATE, literals);
        Py_XSETREF(LAST_LITERALS, Py_NewRef(literals));
    }
    return &LAST_GATE;
}

/* A character a prefixed or bare token is made of (redact.py's gate: A-Za-z0-9_+/.~-). */
static int token_char(Py_UCS4 c) {
    return c < 128 && (Py_ISALNUM(c) || c == '_' || c == '+' || c == '/' || c == '.'
                       || c == '~' || c == '-');
}

/* ASCII lower case; other characters as they are. */
static Py_UCS4 fold(Py_UCS4 c) {
    return c < 128 ? (Py_UCS4)Py_TOLOWER(c) : c;
}

/* Whether some literal of the gate occurs in value in any case, or a run of
 * TOKEN_RUN token characters does (any string kind). */
static int gate_hit(const Gate *gate, PyObject *value) {
    int kind = PyUnicode_KIND(value);
    const void *data = PyUnicode_DATA(value);
    Py_ssize_t n = PyUnicode_GET_LENGTH(value);
    Py_ssize_t run = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        run = token_char(c) ? run + 1 : 0;
        if (run >= TOKEN_RUN) {
            return 1;
        }
        if (c > 127) {
            continue;
        }
        /* Only the literals that start with this character, in any case. */
        for (int l = gate->head[fold(c)]; l >= 0; l = gate->next[l]) {
            Py_ssize_t size = gate->size[l];
            if (n - i < size) {
                continue;
            }
            Py_ssize_t j = 1;
            while (j < size
                   && fold(PyUnicode_READ(kind, data, i + j))
                          == (Py_UCS4)(unsigned char)gate->text[l][j]) {
                j++;
            }
            if (j == size) {
                return 1;
            }
        }
    }
    return 0;
}

/* Redactor.text(value), calling it only when it could change the value. */
static PyObject *redact_text(Settings *s, PyObject *value) {
    if (!s->has_patterns) {
        if (PyUnicode_GET_LENGTH(value) < SHORTEST_SHAPE) {
            return Py_NewRef(value); /* shorter than any built-in shape */
        }
        if (s->gate.usable && !gate_hit(&s->gate, value)) {
            return Py_NewRef(value);
        }
    }
    return PyObject_CallOneArg(s->text, value);
}

/* The value a user field is written with (redacted), or NULL with *status. */
static PyObject *field_value(Settings *s, PyObject *key, PyObject *value, int *status) {
    if (!s->redact) {
        return Py_NewRef(value);
    }
    if (!PyUnicode_CheckExact(key)) {
        *status = SLOW;
        return NULL;
    }
    PyObject *secret = PyDict_GetItemWithError(s->key_cache, key); /* borrowed */
    if (secret == NULL) {
        /* Not judged yet: the Python path judges the key and caches the answer. */
        *status = PyErr_Occurred() ? -1 : SLOW;
        return NULL;
    }
    if (secret == Py_True) {
        return Py_NewRef(REDACTED);
    }
    if (PyUnicode_CheckExact(value)) {
        PyObject *shown = redact_text(s, value);
        if (shown == NULL) {
            *status = -1;
        }
        return shown;
    }
    if (PyLong_CheckExact(value) || PyFloat_CheckExact(value) || PyBool_Check(value)
        || value == Py_None) {
        return Py_NewRef(value);
    }
    *status = SLOW; /* containers and objects: Redactor.value walks them */
    return NULL;
}

static int add_field(Settings *s, PyObject *document, PyObject *key, PyObject *value) {
    int reserved = PySet_Contains(RESERVED, key);
    if (reserved != 0) {
        return reserved < 0 ? -1 : SLOW; /* renamed by the Python path */
    }
    int status = 1;
    PyObject *shown = field_value(s, key, value, &status);
    if (shown == NULL) {
        return status;
    }
    int failed = PyDict_SetItem(document, key, shown);
    Py_DECREF(shown);
    return failed ? -1 : 1;
}

/* A context that binds one of our keys (``rank``, say) is written with it renamed
 * (record.renamed_fields). The bound context is an immutable dict (BOUND_FIELDS)
 * that every record of the task shares, so the last one renamed is kept. */
static PyObject *RENAME;                     /* record.renamed_fields */
static PyTypeObject *BOUND_FIELDS;           /* logging_context.BoundFields */
static PyObject *LAST_CONTEXT, *LAST_RENAMED;

static int has_reserved(PyObject *fields) {
    Py_ssize_t pos = 0;
    PyObject *key, *value;
    while (PyDict_Next(fields, &pos, &key, &value)) {
        int reserved = PySet_Contains(RESERVED, key);
        if (reserved != 0) {
            return reserved;
        }
    }
    return 0;
}

/* The context's fields as they are written (borrowed), or NULL: see *status. */
static PyObject *context_fields(PyObject *fields, int *status) {
    int immutable = Py_IS_TYPE(fields, BOUND_FIELDS);
    *status = 1;
    if (!immutable && !PyDict_CheckExact(fields)) {
        *status = SLOW;
        return NULL;
    }
    int reserved = has_reserved(fields);
    if (reserved <= 0) {
        *status = reserved < 0 ? -1 : 1;
        return reserved < 0 ? NULL : fields;
    }
    if (immutable && fields == LAST_CONTEXT) {
        return LAST_RENAMED;
    }
    PyObject *items = RENAME == NULL ? NULL : PyDict_Items(fields);
    PyObject *renamed = items == NULL ? NULL : PyObject_CallOneArg(RENAME, items);
    Py_XDECREF(items);
    if (renamed == NULL || !PyDict_CheckExact(renamed)) {
        Py_XDECREF(renamed);
        *status = PyErr_Occurred() ? -1 : SLOW;
        return NULL;
    }
    if (!immutable) {
        /* Not ours to keep: borrowed by the caller for this record only. */
        Py_XSETREF(LAST_CONTEXT, NULL);
    } else {
        Py_XSETREF(LAST_CONTEXT, Py_NewRef(fields));
    }
    Py_XSETREF(LAST_RENAMED, renamed);
    return renamed;
}

/* The extras, read by the keys our makeRecord left under K_FROZEN, when the record
 * holds exactly LogRecord's attributes, those extras, the frozen mark and the
 * captured message (and context): then no attribute needs a look. The values
 * come from the record, which a filter may have changed since. SCAN: this does
 * not apply, nothing was added; SLOW: a frozen key is gone (a filter removed it). */
#define SCAN 2
static int frozen_extras(Settings *s, PyObject *document, PyObject *state, int has_context) {
    PyObject *frozen = PyDict_GetItemWithError(state, K_FROZEN); /* borrowed */
    if (frozen == NULL) {
        return PyErr_Occurred() ? -1 : SCAN;
    }
    if (!PyTuple_CheckExact(frozen)
        || PyDict_GET_SIZE(state) != FIRST_EXTRA + PyTuple_GET_SIZE(frozen) + 2 + has_context) {
        return SCAN;
    }
    Py_INCREF(frozen);
    int status = 1;
    for (Py_ssize_t i = 0; status == 1 && i < PyTuple_GET_SIZE(frozen); i++) {
        PyObject *key = PyTuple_GET_ITEM(frozen, i);
        PyObject *value = PyDict_GetItemWithError(state, key); /* borrowed */
        if (value == NULL) {
            status = PyErr_Occurred() ? -1 : SLOW; /* the Python path writes what is left */
            break;
        }
        Py_INCREF(value);
        status = add_field(s, document, key, value);
        Py_DECREF(value);
    }
    Py_DECREF(frozen);
    return status;
}

/* Context fields, then extras (an extra wins), as record.user_fields merges them. */
static int add_user_fields(Settings *s, PyObject *document, PyObject *state) {
    Py_ssize_t pos = 0, index = 0;
    PyObject *key, *value;
    PyObject *context = PyDict_GetItemWithError(state, K_CONTEXT); /* borrowed */
    if (context != NULL) {
        int status;
        context = context_fields(context, &status);
        if (context == NULL) {
            return status;
        }
        Py_INCREF(context); /* the cache may move on while we read it */
        while (PyDict_Next(context, &pos, &key, &value)) {
            status = add_field(s, document, key, value);
            if (status != 1) {
                break;
            }
        }
        Py_DECREF(context);
        if (status != 1) {
            return status;
        }
    } else if (PyErr_Occurred()) {
        return -1;
    }
    if (PyDict_GET_SIZE(state) < FIRST_EXTRA) {
        return SLOW;
    }
    int found = frozen_extras(s, document, state, context != NULL);
    if (found != SCAN) {
        return found;
    }
    pos = 0;
    while (PyDict_Next(state, &pos, &key, &value)) {
        if (index < FIRST_EXTRA) {
            /* LogRecord.__init__'s own attributes come first, in a fixed order. */
            if (++index == FIRST_EXTRA
                && (!PyUnicode_CheckExact(key) || PyUnicode_Compare(key, LAST_OWN) != 0)) {
                return SLOW; /* a record built some other way */
            }
            continue;
        }
        int skip = PySet_Contains(NOT_EXTRA, key);
        if (skip != 0) {
            if (skip < 0) {
                return -1;
            }
            continue;
        }
        int added = add_field(s, document, key, value);
        if (added != 1) {
            return added;
        }
    }
    return 1;
}

/* record.iso_utc: "2026-11-27T02:16:25.123456+00:00", or NULL for odd times. */
static long long cached_second = -1;
static char cached_prefix[20]; /* "2026-11-27T02:16:25" */

static PyObject *iso_utc(PyObject *created) {
    if (!PyFloat_CheckExact(created)) {
        return NULL;
    }
    double t = PyFloat_AS_DOUBLE(created);
    if (!(t >= 0.0 && t < 253402300800.0)) { /* 1970 to 9999 only: Python's way elsewhere */
        return NULL;
    }
    long long second = (long long)t;
    long micros = (long)((t - (double)second) * 1000000.0); /* the same arithmetic */
    if (micros < 0 || micros > 999999) {
        return NULL;
    }
    if (second != cached_second) {
        time_t when = (time_t)second;
        struct tm parts;
        char prefix[32];
        if (gmtime_r(&when, &parts) == NULL || parts.tm_year + 1900 < 1000
            || strftime(prefix, sizeof prefix, "%Y-%m-%dT%H:%M:%S", &parts) != 19) {
            return NULL;
        }
        memcpy(cached_prefix, prefix, 19);
        cached_second = second;
    }
    char text[32];
    memcpy(text, cached_prefix, 19);
    text[19] = '.';
    for (int i = 25; i >= 20; i--) {
        text[i] = (char)('0' + micros % 10);
        micros /= 10;
    }
    memcpy(text + 26, "+00:00", 6);
    return PyUnicode_FromStringAndSize(text, 32);
}

static int put(PyObject *document, PyObject *key, PyObject *state, PyObject *attribute) {
    PyObject *value = PyDict_GetItemWithError(state, attribute); /* borrowed */
    if (value == NULL) {
        return PyErr_Occurred() ? -1 : SLOW;
    }
    return PyDict_SetItem(document, key, value) < 0 ? -1 : 1;
}

static int put_all(PyObject *document, PyObject *mapping) {
    Py_ssize_t pos = 0;
    PyObject *key, *value;
    while (PyDict_Next(mapping, &pos, &key, &value)) {
        if (PyDict_SetItem(document, key, value) < 0) {
            return -1;
        }
    }
    return 1;
}

/* The document of record.assemble(), keys in the same order; NULL: see *status. */
static PyObject *document_of(Settings *s, PyObject *state, int *status) {
    *status = SLOW;
    /* An exception or a stack: the Python path formats and redacts it. */
    if (PyDict_GetItemWithError(state, K_EXCEPTION) != NULL
        || PyDict_GetItemWithError(state, A_EXC_INFO) != Py_None
        || PyDict_GetItemWithError(state, A_STACK_INFO) != Py_None) {
        return NULL;
    }
    PyObject *message = PyDict_GetItemWithError(state, K_MESSAGE);
    PyObject *created = PyDict_GetItemWithError(state, A_CREATED);
    if (message == NULL || !PyUnicode_CheckExact(message) || created == NULL) {
        return NULL;
    }
    PyObject *timestamp = iso_utc(created);
    if (timestamp == NULL) {
        return NULL;
    }
    message = s->redact ? redact_text(s, message) : Py_NewRef(message);
    PyObject *document = message == NULL ? NULL : PyDict_New();
    int done = document == NULL ? -1 : 1;
    if (done == 1) {
        done = PyDict_SetItem(document, D_KEYS[0], timestamp) == 0
                   && put(document, D_KEYS[1], state, A_LEVELNAME) == 1
                   && put(document, D_KEYS[2], state, A_NAME) == 1
                   && PyDict_SetItem(document, D_KEYS[3], message) == 0
                   ? 1 : SLOW;
    }
    if (done == 1) {
        done = add_user_fields(s, document, state);
    }
    if (done == 1) {
        done = put(document, D_KEYS[4], state, A_MODULE) == 1
                   && put(document, D_KEYS[5], state, A_FUNCNAME) == 1
                   && put(document, D_KEYS[6], state, A_LINENO) == 1
                   && put(document, D_KEYS[7], state, A_PROCESS) == 1
                   && put(document, D_KEYS[8], state, A_PROCESSNAME) == 1
                   && put(document, D_KEYS[9], state, A_THREADNAME) == 1
                   && put_all(document, s->identity) == 1
                   ? 1 : SLOW;
    }
    Py_XDECREF(message);
    Py_DECREF(timestamp);
    if (done != 1) {
        Py_XDECREF(document);
        *status = done;
        return NULL;
    }
    *status = 1;
    return document;
}

/* No byte above 0x7f and no "null" (the Python path checks a null for NaN). */
static int plain_line(const char *bytes, Py_ssize_t size) {
    unsigned long long seen = 0, word;
    Py_ssize_t i = 0;
    for (; i + 8 <= size; i += 8) {
        memcpy(&word, bytes + i, 8);
        seen |= word;
    }
    for (; i < size; i++) {
        seen |= (unsigned char)bytes[i];
    }
    if (seen & 0x8080808080808080ULL) {
        return 0;
    }
    const char *end = bytes + size, *at = bytes + 1;
    while (at < end && (at = memchr(at, 'u', (size_t)(end - at))) != NULL) {
        if (at[-1] == 'n' && end - at >= 3 && at[1] == 'l' && at[2] == 'l') {
            return 0;
        }
        at++;
    }
    return 1;
}

/* encode.line_of's first branch: orjson's line when it is ASCII, fits, and has no null. */
static PyObject *line_of(Settings *s, PyObject *document) {
    PyObject *args[4] = {NULL, document, s->dflt, s->option};
    PyObject *line = PyObject_Vectorcall(s->dumps, args + 1, 1 | PY_VECTORCALL_ARGUMENTS_OFFSET,
                                         KWNAMES);
    if (line == NULL || !PyBytes_CheckExact(line)) {
        Py_XDECREF(line);
        return NULL;
    }
    if (PyBytes_GET_SIZE(line) > s->limit
        || !plain_line(PyBytes_AS_STRING(line), PyBytes_GET_SIZE(line))) {
        Py_DECREF(line);
        return NULL;
    }
    return line;
}

static PyObject *one_line(Settings *s, PyObject *record) {
    PyObject *state = PyObject_GenericGetDict(record, NULL);
    if (state == NULL || !PyDict_Check(state)) {
        Py_XDECREF(state);
        return NULL;
    }
    PyObject *line = NULL;
    PyObject *levelno = PyDict_GetItemWithError(state, A_LEVELNO);
    if (levelno != NULL && PyLong_CheckExact(levelno)) {
        long level = PyLong_AsLong(levelno);
        if (!(level == -1 && PyErr_Occurred()) && level < s->console_level) {
            int status = SLOW;
            PyObject *document = document_of(s, state, &status);
            if (document != NULL) {
                line = line_of(s, document);
                Py_DECREF(document);
            }
        }
    }
    Py_DECREF(state);
    return line;
}

static PyObject *lines(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    Settings s;
    if (!configured) {
        PyErr_SetString(PyExc_RuntimeError, "_speedups.configure() was not called");
        return NULL;
    }
    if (nargs != 2 || (!PyList_CheckExact(args[0]) && !PyTuple_CheckExact(args[0]))) {
        PyErr_SetString(PyExc_TypeError, "lines(records: list | tuple, settings: tuple)");
        return NULL;
    }
    if (!PyArg_ParseTuple(args[1], "O!nlpO!OpOOOO;settings", &PyDict_Type, &s.identity,
                          &s.limit, &s.console_level, &s.redact, &PyDict_Type, &s.key_cache,
                          &s.literals, &s.has_patterns, &s.text, &s.dumps, &s.dflt,
                          &s.option)) {
        return NULL;
    }
    s.gate = *gate_for(s.literals); /* a copy: Python code the batch calls may use gate() */
    PyObject *records = args[0];
    Py_ssize_t count = PySequence_Fast_GET_SIZE(records);
    PyObject *out = PyList_New(count);
    if (out == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *line = one_line(&s, PySequence_Fast_GET_ITEM(records, i));
        if (line == NULL) {
            if (PyErr_Occurred()) {
                /* Whatever went wrong, the Python path meets it again and copes. */
                if (PyErr_ExceptionMatches(PyExc_MemoryError)
                    || PyErr_ExceptionMatches(PyExc_KeyboardInterrupt)) {
                    Py_DECREF(out);
                    return NULL;
                }
                PyErr_Clear();
            }
            line = Py_NewRef(Py_None);
        }
        PyList_SET_ITEM(out, i, line);
    }
    return out;
}

static int intern(PyObject **slot, const char *text) {
    *slot = PyUnicode_InternFromString(text);
    return *slot == NULL ? -1 : 0;
}

/* configure(config): speedups.Config, a NamedTuple built from fields.py,
 * record.py and redact.py. */
static PyObject *configure(PyObject *module, PyObject *config) {
    PyObject *not_extra, *reserved, *last_own, *captured, *document_keys, *redacted, *rename,
        *url_marker, *bound_fields;
    Py_ssize_t first_extra, shortest_shape, token_run;
    if (!PyTuple_Check(config)) {
        PyErr_SetString(PyExc_TypeError, "configure(config: speedups.Config)");
        return NULL;
    }
    if (!PyArg_ParseTuple(config, "O!O!nUO!O!UOnUnO!;configure(config: speedups.Config)",
                          &PyFrozenSet_Type, &not_extra, &PyFrozenSet_Type, &reserved,
                          &first_extra, &last_own, &PyTuple_Type, &captured, &PyTuple_Type,
                          &document_keys, &redacted, &rename, &shortest_shape, &url_marker,
                          &token_run, &PyType_Type, &bound_fields)) {
        return NULL;
    }
    if (!PyType_IsSubtype((PyTypeObject *)bound_fields, &PyDict_Type)) {
        PyErr_SetString(PyExc_TypeError, "configure: bound_fields must be a dict subclass");
        return NULL;
    }
    if (!PyUnicode_IS_ASCII(url_marker) || PyUnicode_GET_LENGTH(url_marker) >= 16
        || shortest_shape < 0 || token_run < 1) {
        PyErr_SetString(PyExc_ValueError,
                        "configure: an ASCII url_marker, a shortest_shape, a token_run");
        return NULL;
    }
    SHORTEST_SHAPE = shortest_shape;
    TOKEN_RUN = token_run;
    strcpy(URL_MARKER, (const char *)PyUnicode_1BYTE_DATA(url_marker));
    Py_XSETREF(RENAME, Py_NewRef(rename));
    Py_XSETREF(BOUND_FIELDS, (PyTypeObject *)Py_NewRef(bound_fields));
    Py_XSETREF(LAST_CONTEXT, NULL);
    Py_XSETREF(LAST_RENAMED, NULL);
    if (PyTuple_GET_SIZE(captured) != 4 || PyTuple_GET_SIZE(document_keys) != 10
        || first_extra < 1) {
        PyErr_SetString(PyExc_ValueError, "configure: 4 captured keys and 10 document keys");
        return NULL;
    }
    Py_XSETREF(NOT_EXTRA, Py_NewRef(not_extra));
    Py_XSETREF(RESERVED, Py_NewRef(reserved));
    Py_XSETREF(LAST_OWN, Py_NewRef(last_own));
    FIRST_EXTRA = first_extra;
    Py_XSETREF(K_MESSAGE, Py_NewRef(PyTuple_GET_ITEM(captured, 0)));
    Py_XSETREF(K_CONTEXT, Py_NewRef(PyTuple_GET_ITEM(captured, 1)));
    Py_XSETREF(K_EXCEPTION, Py_NewRef(PyTuple_GET_ITEM(captured, 2)));
    Py_XSETREF(K_FROZEN, Py_NewRef(PyTuple_GET_ITEM(captured, 3)));
    for (int i = 0; i < 10; i++) {
        Py_XSETREF(D_KEYS[i], Py_NewRef(PyTuple_GET_ITEM(document_keys, i)));
    }
    Py_XSETREF(REDACTED, Py_NewRef(redacted));
    configured = 1;
    Py_RETURN_NONE;
}

/* gate(value, literals) -> bool: whether Redactor.text could change value (the
 * gate above, for the Python path: one pass in C instead of a regex per literal). */
static PyObject *gate(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 2 || !PyUnicode_Check(args[0]) || !PyTuple_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "gate(value: str, literals: tuple[str, ...])");
        return NULL;
    }
    const Gate *found = gate_for(args[1]);
    if (!found->usable) {
        Py_RETURN_TRUE;
    }
    return PyBool_FromLong(gate_hit(found, args[0]));
}

/* ---- logview --triage: who wrote a block of JSONL ------------------------- */

/* A set of digit runs (pids) found in one block: open addressing over their
 * places in the block, so a repeated pid costs a hash and a compare, no object. */
typedef struct {
    const char **text;
    Py_ssize_t *size;
    Py_ssize_t slots, used;
} Spans;

static Py_uhash_t span_hash(const char *text, Py_ssize_t size) {
    Py_uhash_t h = 1469598103934665603ULL; /* FNV-1a */
    for (Py_ssize_t i = 0; i < size; i++) {
        h = (h ^ (unsigned char)text[i]) * 1099511628211ULL;
    }
    return h;
}

static int spans_grow(Spans *spans) {
    Py_ssize_t slots = spans->slots ? spans->slots * 2 : 1024;
    const char **text = PyMem_Calloc((size_t)slots, sizeof(*text));
    Py_ssize_t *size = PyMem_Calloc((size_t)slots, sizeof(*size));
    if (text == NULL || size == NULL) {
        PyMem_Free(text);
        PyMem_Free(size);
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < spans->slots; i++) {
        if (spans->text[i] != NULL) {
            Py_uhash_t at = span_hash(spans->text[i], spans->size[i]) & (Py_uhash_t)(slots - 1);
            while (text[at] != NULL) {
                at = (at + 1) & (Py_uhash_t)(slots - 1);
            }
            text[at] = spans->text[i];
            size[at] = spans->size[i];
        }
    }
    PyMem_Free(spans->text);
    PyMem_Free(spans->size);
    spans->text = text;
    spans->size = size;
    spans->slots = slots;
    return 0;
}

static int spans_add(Spans *spans, const char *text, Py_ssize_t size) {
    if (2 * (spans->used + 1) > spans->slots && spans_grow(spans) < 0) {
        return -1;
    }
    Py_uhash_t mask = (Py_uhash_t)(spans->slots - 1);
    Py_uhash_t at = span_hash(text, size) & mask;
    while (spans->text[at] != NULL) {
        if (spans->size[at] == size && memcmp(spans->text[at], text, (size_t)size) == 0) {
            return 0;
        }
        at = (at + 1) & mask;
    }
    spans->text[at] = text;
    spans->size[at] = size;
    spans->used++;
    return 0;
}

/* What one line of a block is: an object (``[ \t]*{ ... }[ \t\r]*``), blank
 * (``[ \t\r]*``), or neither: the regexes OBJECT_LINE and _BLANK_LINE of
 * logview/_blocks.py, line by line. */
static void classify(const char *line, const char *end, Py_ssize_t *objects, Py_ssize_t *blank) {
    const char *p = line;
    while (p < end && (*p == ' ' || *p == '\t')) {
        p++;
    }
    const char *q = end;
    while (q > p && (q[-1] == ' ' || q[-1] == '\t' || q[-1] == '\r')) {
        q--;
    }
    if (q == p) {
        ++*blank;
    } else if (*p == '{' && q - p >= 2 && q[-1] == '}') {
        ++*objects;
    }
}

/* scan_block(block, key) -> (lines, objects, blank, found, distinct): the
 * block's lines (its newlines + 1), how many are JSON objects in shape and how
 * many blank; how many times ``key`` (b'"process"', from fields.py) is
 * followed by a colon, digits, and a comma or brace (spaces allowed around
 * the colon and the digits); and those digit runs, each once, as bytes.
 * What the regexes of logview/_blocks.py find, without an object per line:
 * the triage of a shared file (every rank's lines interleaved) needs each
 * line's pid only to learn which processes wrote the file. */
static PyObject *scan_block(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 2 || !PyBytes_Check(args[0]) || !PyBytes_Check(args[1])
        || PyBytes_GET_SIZE(args[1]) == 0) {
        PyErr_SetString(PyExc_TypeError, "scan_block(block: bytes, key: bytes)");
        return NULL;
    }
    const char *start = PyBytes_AS_STRING(args[0]);
    const char *end = start + PyBytes_GET_SIZE(args[0]);
    const char *key = PyBytes_AS_STRING(args[1]);
    size_t key_size = (size_t)PyBytes_GET_SIZE(args[1]);
    Py_ssize_t lines = 1, objects = 0, blank = 0, found = 0;
    const char *line = start;
    for (const char *nl; (nl = memchr(line, '\n', (size_t)(end - line))) != NULL; line = nl + 1) {
        lines++;
        classify(line, nl, &objects, &blank);
    }
    classify(line, end, &objects, &blank);
    Spans spans = {NULL, NULL, 0, 0};
    const char *p = start;
    while (p < end) {
        const char *at = memmem(p, (size_t)(end - p), key, key_size);
        if (at == NULL) {
            break;
        }
        /* key [ \t]* : [ \t]* digits [ \t]* (, or }): compact or json.dumps's ": " */
        const char *q = at + key_size;
        while (q < end && (*q == ' ' || *q == '\t')) {
            q++;
        }
        const char *digits = q < end && *q == ':' ? q + 1 : NULL;
        if (digits != NULL) {
            while (digits < end && (*digits == ' ' || *digits == '\t')) {
                digits++;
            }
            q = digits;
            while (q < end && *q >= '0' && *q <= '9') {
                q++;
            }
        }
        const char *after = q;
        while (after < end && (*after == ' ' || *after == '\t')) {
            after++;
        }
        if (digits != NULL && q > digits && after < end && (*after == ',' || *after == '}')) {
            found++;
            if (spans_add(&spans, digits, q - digits) < 0) {
                PyMem_Free(spans.text);
                PyMem_Free(spans.size);
                return NULL;
            }
            p = after + 1;
        } else {
            p = at + 1;
        }
    }
    PyObject *distinct = PyList_New(0);
    for (Py_ssize_t i = 0; distinct != NULL && i < spans.slots; i++) {
        if (spans.text[i] == NULL) {
            continue;
        }
        PyObject *pid = PyBytes_FromStringAndSize(spans.text[i], spans.size[i]);
        if (pid == NULL || PyList_Append(distinct, pid) < 0) {
            Py_CLEAR(distinct);
        }
        Py_XDECREF(pid);
    }
    PyMem_Free(spans.text);
    PyMem_Free(spans.size);
    if (distinct == NULL) {
        return NULL;
    }
    return Py_BuildValue("(nnnnN)", lines, objects, blank, found, distinct);
}

static PyMethodDef methods[] = {
    {"gate", (PyCFunction)(void (*)(void))gate, METH_FASTCALL,
     "gate(value, literals) -> bool (False: no redaction rule can change value)"},
    {"lines", (PyCFunction)(void (*)(void))lines, METH_FASTCALL,
     "lines(records, settings) -> list of bytes or None (None: render it in Python)"},
    {"configure", configure, METH_O, "configure(config: speedups.Config)"},
    {"scan_block", (PyCFunction)(void (*)(void))scan_block, METH_FASTCALL,
     "scan_block(block, key) -> (lines, objects, blank, found, distinct digit runs after key)"},
    {NULL, NULL, 0, NULL},
};

static int exec_module(PyObject *module) {
    if (intern(&A_EXC_INFO, "exc_info") || intern(&A_STACK_INFO, "stack_info")
        || intern(&A_CREATED, "created") || intern(&A_LEVELNAME, "levelname")
        || intern(&A_LEVELNO, "levelno") || intern(&A_NAME, "name")
        || intern(&A_MODULE, "module") || intern(&A_FUNCNAME, "funcName")
        || intern(&A_LINENO, "lineno") || intern(&A_PROCESS, "process")
        || intern(&A_PROCESSNAME, "processName") || intern(&A_THREADNAME, "threadName")
        ) {
        return -1;
    }
    if (KWNAMES == NULL) {
        /* Interned: orjson matches keyword names by identity. */
        PyObject *dflt = PyUnicode_InternFromString("default");
        PyObject *option = PyUnicode_InternFromString("option");
        if (dflt == NULL || option == NULL) {
            Py_XDECREF(dflt);
            Py_XDECREF(option);
            return -1;
        }
        KWNAMES = PyTuple_Pack(2, dflt, option);
        Py_DECREF(dflt);
        Py_DECREF(option);
        if (KWNAMES == NULL) {
            return -1;
        }
    }
    return 0;
}

static PyModuleDef_Slot slots[] = {
    {Py_mod_exec, exec_module},
#if PY_VERSION_HEX >= 0x030C0000
    /* Its state is process-wide (static): one interpreter only. */
    {Py_mod_multiple_interpreters, Py_MOD_MULTIPLE_INTERPRETERS_NOT_SUPPORTED},
#endif
    {0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "_speedups", "The writer's hot path in C (see _speedups.c).", 0,
    methods, slots, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__speedups(void) { return PyModuleDef_Init(&module_def); }
