/* empty.c -- stands in for a layer with no sources yet, so CMake can link the graph. */
typedef int st_empty_translation_unit;
