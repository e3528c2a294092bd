// kreplay: one binary, several roles, with the shipped model families.
#include "controller/cli/main.h"
#include "workers/models/builtin.h"

int main(int argc, char** argv) { return kreplay::cli::Main(argc, argv, kreplay::models::RegisterBuiltinFamilies); }
