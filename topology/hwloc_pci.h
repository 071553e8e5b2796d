// The bus id hwloc gives a PCI device, in the form the topology keeps ("0000:07:00.0"): how GPUs
// found while walking the PCI tree are matched with the objects of hwloc's distance matrices.
#pragma once

#if STRATA_HAVE_HWLOC
#include <hwloc.h>

#include <cstdio>
#include <string>

namespace strata {

inline std::string pciBusId(hwloc_obj_t pci) {
  char text[32];
  std::snprintf(text, sizeof(text), "%04x:%02x:%02x.%01x", pci->attr->pcidev.domain, pci->attr->pcidev.bus,
                pci->attr->pcidev.dev, pci->attr->pcidev.func);
  return text;
}

}  // namespace strata
#endif
