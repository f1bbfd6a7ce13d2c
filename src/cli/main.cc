#include "cli/cli.h"

int main(int argc, char** argv) { return hyperdefrag::cli::run(argc, argv); }
