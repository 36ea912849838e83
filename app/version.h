/*
 * The project's version. Its one source is the VERSION file at the top of
 * the tree, which the Makefile passes as -DOPN_VERSION.
 */
#ifndef VERSION_H
#define VERSION_H

#ifndef OPN_VERSION
#error "OPN_VERSION comes from the VERSION file: build with make"
#endif

#endif
