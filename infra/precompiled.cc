// Builds the precompiled headers every target of Keel reuses (see the top-level CMakeLists.txt).
