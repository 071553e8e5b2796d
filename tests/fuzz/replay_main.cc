// Replays a fuzz target's corpus once per file, for builds without libFuzzer (GCC): the kept
// corpus stays a regression test in every build, sanitizer builds included.
//   fuzz_X_replay DIR...
#include <dirent.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

int main(int argc, char** argv) {
  size_t inputs = 0;
  for (int i = 1; i < argc; ++i) {
    DIR* dir = opendir(argv[i]);
    if (dir == nullptr) {
      std::fprintf(stderr, "cannot open corpus directory %s\n", argv[i]);
      return 1;
    }
    while (dirent* entry = readdir(dir)) {
      std::string name = entry->d_name;
      if (entry->d_type == DT_DIR) continue;  // seeds only; libFuzzer skips directories too
      std::ifstream in(std::string(argv[i]) + "/" + name, std::ios::binary);
      std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
      ++inputs;
    }
    closedir(dir);
  }
  std::printf("replayed %zu inputs\n", inputs);
  return inputs > 0 ? 0 : 1;
}
