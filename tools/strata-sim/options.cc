#include "options.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "src/common/text_file.h"

namespace strata::sim {
namespace {

const char* kUsage =
    "usage: strata-sim [options]\n"
    "The modelled cluster (a fat tree):\n"
    "  --pods N                  pods (spine groups), default 1\n"
    "  --racks-per-pod N         racks (leaf switches) per pod, default 2\n"
    "  --hosts-per-rack N        hosts per rack, default 2\n"
    "  --ranks-per-host N        ranks (GPUs) per host, default 1\n"
    "  --topology-file FILE      a Slurm topology.conf placing --hosts in racks (instead of the three above)\n"
    "  --hosts HOSTLIST          the job's hosts, e.g. node[001-512], with --topology-file\n"
    "  --numbering MODE          block (default), round-robin (across racks) or random\n"
    "  --seed N                  seed of --numbering random (default 1)\n"
    "Rates (default: the cost model, STRATA_COST_FILE keys; flags override it):\n"
    "  --cost-file FILE          cost-model keys (see README, 'Cost model')\n"
    "  --nic-gbps G              each host's NIC, Gb/s each way (e.g. 400)\n"
    "  --rank-port-gbps G        each rank's port inside its host, GB/s (NVLink or shared memory)\n"
    "  --leaf-oversubscription X rack uplink = hosts x NIC / X (e.g. 4 for 4:1)\n"
    "  --spine-oversubscription X pod uplink = racks x rack uplink / X\n"
    "  --alpha-us H,R,P,C        per-message latency inside a host, a rack, a pod, across pods\n"
    "  --reduce-gbps G           reduction rate of one rank, GB/s\n"
    "  --link-burst-ms MS        NICs and uplinks are token buckets holding MS of their rate, emptied at\n"
    "                            --burst-peak-gbps (tc tbf, as perf/cluster shapes them; exact replay only)\n"
    "  --burst-peak-gbps G       what a link with tokens carries, GB/s (default 1.5)\n"
    "What to simulate:\n"
    "  --bytes LIST              allreduce sizes, e.g. 1G or 64K,1M,64M (K, M, G: powers of 1024); default 1G\n"
    "  --algorithms LIST         allreduce algorithms (default: all that run over a network), also nccl_like_ring,\n"
    "                            and tuner (the tuner's choice, whichever it is)\n"
    "  --mode MODE               auto (exact up to 256 ranks, aggregated beyond), exact or aggregated\n"
    "  --compare-exact           run both replays and print how far the aggregated one is from the exact one\n"
    "Output:\n"
    "  --json                    JSON instead of the table\n"
    "  --plot FILE.png           busbw against size per algorithm (gnuplot)\n"
    "  -h, --help                this text\n";

Result<double> positiveNumber(const std::string& option, const std::string& text, double high) {
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || errno != 0 || !(v > 0) || v > high) {
    return invalidArgument(option + " '" + text + "' is not a positive number up to " + std::to_string(static_cast<long long>(high)));
  }
  return v;
}

Result<int> count(const std::string& option, const std::string& text, int high) {
  auto v = positiveNumber(option, text, high);
  if (!v.ok()) return v.status();
  if (v.value() != std::floor(v.value())) return invalidArgument(option + " '" + text + "' is not a whole number");
  return static_cast<int>(v.value());
}

Result<size_t> byteSize(const std::string& text) {
  if (text.empty()) return invalidArgument("--bytes: an empty size");
  size_t scale = 1;
  std::string digits = text;
  const char last = static_cast<char>(std::toupper(static_cast<unsigned char>(text.back())));
  if (last == 'K' || last == 'M' || last == 'G') {
    scale = last == 'K' ? 1024 : last == 'M' ? 1024 * 1024 : size_t{1} << 30;
    digits.pop_back();
  }
  auto v = count("--bytes", digits, 1 << 30);
  if (!v.ok()) return invalidArgument("--bytes: '" + text + "' is not a size such as 4096, 64K, 16M or 1G");
  const double bytes = static_cast<double>(v.value()) * static_cast<double>(scale);
  if (bytes > static_cast<double>(size_t{1} << 40)) return invalidArgument("--bytes: '" + text + "' is above 1 TiB");
  return static_cast<size_t>(bytes);
}

std::vector<std::string> splitComma(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    out.push_back(text.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

}  // namespace

Result<Options> parseOptions(int argc, char** argv, std::string* helpText) {
  Options o;
  // Rate flags apply over the cost file whatever their order: kept until the end.
  std::vector<std::pair<std::string, std::string>> rateFlags;
  std::string costFile;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "-h" || a == "--help") {
      *helpText = kUsage;
      return o;
    }
    if (a == "--compare-exact") {
      o.compareExact = true;
      continue;
    }
    if (a == "--json") {
      o.format = "json";
      continue;
    }
    if (i + 1 >= argc) return invalidArgument(a + (a.rfind("--", 0) == 0 ? " needs a value" : ": unknown option") + "\n" + kUsage);
    const std::string v = argv[++i];
    if (a == "--pods" || a == "--racks-per-pod" || a == "--hosts-per-rack" || a == "--ranks-per-host") {
      auto c = count(a, v, 1 << 20);
      if (!c.ok()) return c.status();
      int& field = a == "--pods" ? o.shape.pods : a == "--racks-per-pod" ? o.shape.racksPerPod
                   : a == "--hosts-per-rack" ? o.shape.hostsPerRack : o.shape.ranksPerHost;
      field = c.value();
    } else if (a == "--topology-file") {
      o.topologyFile = v;
    } else if (a == "--hosts") {
      o.hosts = v;
    } else if (a == "--numbering") {
      auto n = parseNumbering(v);
      if (!n.ok()) return n.status().withContext("--numbering: ");
      o.shape.numbering = n.value();
    } else if (a == "--seed") {
      auto s = count(a, v, 1 << 30);
      if (!s.ok()) return s.status();
      o.shape.seed = static_cast<uint64_t>(s.value());
    } else if (a == "--cost-file") {
      costFile = v;
    } else if (a == "--nic-gbps" || a == "--rank-port-gbps" || a == "--leaf-oversubscription" ||
               a == "--spine-oversubscription" || a == "--alpha-us" || a == "--reduce-gbps" || a == "--link-burst-ms" ||
               a == "--burst-peak-gbps") {
      rateFlags.emplace_back(a, v);
    } else if (a == "--bytes") {
      o.sizes.clear();
      for (const std::string& word : splitComma(v)) {
        auto b = byteSize(word);
        if (!b.ok()) return b.status();
        o.sizes.push_back(b.value());
      }
    } else if (a == "--algorithms") {
      if (v != "all") o.algorithms = splitComma(v);
    } else if (a == "--mode") {
      if (v != "auto" && v != "exact" && v != "aggregated") {
        return invalidArgument("--mode must be auto, exact or aggregated, not '" + v + "'");
      }
      o.mode = v == "exact" ? Mode::Exact : v == "aggregated" ? Mode::Aggregated : Mode::Auto;
    } else if (a == "--plot") {
      o.plotFile = v;
    } else {
      return invalidArgument("unknown option '" + a + "'\n" + kUsage);
    }
  }
  if (!o.topologyFile.empty() && o.hosts.empty()) return invalidArgument("--topology-file needs --hosts (the job's hosts)");
  if (o.topologyFile.empty() && !o.hosts.empty()) return invalidArgument("--hosts needs --topology-file (which racks they sit in)");
  if (!costFile.empty()) {
    auto model = CostModel::load(costFile);
    if (!model.ok()) return model.status();
    o.model = model.value();
  }
  CostModel& m = o.model;
  for (const auto& [flag, text] : rateFlags) {
    if (flag == "--alpha-us") {
      const std::vector<std::string> words = splitComma(text);
      if (words.size() != 4) return invalidArgument("--alpha-us takes four latencies (host,rack,pod,core), got '" + text + "'");
      double* fields[4] = {&m.shm.alphaUs, &m.net.alphaUs, &m.interRack.alphaUs, &m.interPod.alphaUs};
      for (size_t k = 0; k < 4; ++k) {
        auto us = positiveNumber("--alpha-us", words[k], 1e9);
        if (!us.ok()) return us.status();
        *fields[k] = us.value();
      }
      continue;
    }
    auto x = positiveNumber(flag, text, 1e9);
    if (!x.ok()) return x.status();
    if (flag == "--nic-gbps") {
      m.net.betaGBps = m.interRack.betaGBps = m.interPod.betaGBps = x.value() / 8;
    } else if (flag == "--rank-port-gbps") {
      m.shm.betaGBps = x.value();
    } else if (flag == "--link-burst-ms") {
      o.burstSeconds = x.value() / 1e3;
    } else if (flag == "--burst-peak-gbps") {
      o.burstPeakBytesPerSecond = x.value() * 1e9;
    } else if (flag == "--leaf-oversubscription") {
      m.uplinkOversubscription = x.value();
    } else if (flag == "--spine-oversubscription") {
      m.spineOversubscription = x.value();
    } else {
      m.reduceGBps = x.value();
    }
  }
  return o;
}

}  // namespace strata::sim
