#include <mpi.h>

// Open MPI's handles are macros over global symbols that Swift cannot import: expose them as functions.
static inline MPI_Comm intermesh_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype intermesh_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype intermesh_double(void) { return MPI_DOUBLE; }
static inline MPI_Datatype intermesh_byte(void) { return MPI_BYTE; }
static inline MPI_Datatype intermesh_int64(void) { return MPI_INT64_T; }
static inline MPI_Op intermesh_sum(void) { return MPI_SUM; }
static inline MPI_Op intermesh_max(void) { return MPI_MAX; }
static inline void *intermesh_in_place(void) { return MPI_IN_PLACE; }
