// kreplay-toy: the kreplay binary with the shipped families plus the toy
// family (its one registration line is below). Integration tests only.
#include "controller/cli/main.h"
#include "tests/toy/toy_family.h"
#include "workers/models/builtin.h"

int main(int argc, char** argv) {
  return kreplay::cli::Main(argc, argv, [](kreplay::family::Catalog& catalog) {
    kreplay::models::RegisterBuiltinFamilies(catalog);
    KREPLAY_CHECK(kreplay::toy::RegisterToyFamily(catalog).ok(), "toy family");
  });
}
