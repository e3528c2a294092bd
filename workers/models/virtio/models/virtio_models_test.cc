// The models' parameters against the kernel releases that introduced each
// behaviour (see docs/models/virtio.md, with the commits it cites): what a
// `kernel_version` selects or refuses.
#include "workers/models/virtio/models/virtio_models.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "services/model/params.h"

namespace kreplay::virtio {
namespace {

model::Registry& Models() {
  static model::Registry* r = [] {
    auto* reg = new model::Registry;
    EXPECT_TRUE(reg->RegisterFamily("virtio").ok());
    EXPECT_TRUE(RegisterVirtioModels(*reg).ok());
    return reg;
  }();
  return *r;
}

StatusOr<DatapathConfig> Config(const std::string& model, Backend b, std::map<std::string, model::ParamValue> given,
                                bool net = false) {
  const model::ModelInfo* info = Models().Find(model);
  EXPECT_NE(info, nullptr) << model;
  KREPLAY_ASSIGN_OR_RETURN(model::ParamSet p, model::ResolveParams(info->params, given, "params"));
  return ConfigFromParams(b, p, net);
}

TEST(VirtioModels, SixModelsOneFamily) {
  for (const char* m : {"virtio.vhost-net", "virtio.vhost-user", "virtio.vhost-vdpa", "virtio.virtio-vdpa",
                        "virtio.vduse", "virtio.ublk"}) {
    const model::ModelInfo* info = Models().Find(m);
    ASSERT_NE(info, nullptr) << m;
    EXPECT_EQ(info->family, "virtio");
    EXPECT_FALSE(info->mirrors.empty()) << m;
  }
}

TEST(VirtioModels, VduseInjectionTakesTheWorkqueueHopBefore64) {
  // e38632dd7181 ("vduse: Signal vq trigger eventfd directly if possible",
  // 6.4): the ioctl signals vhost-vdpa's irqfd itself; before, and on
  // virtio-vdpa (no irqfd) always, a work item injects.
  auto old = Config("virtio.vduse", Backend::kVduse, {{"bus", std::string("vhost-vdpa")}, {"kernel_version", std::string("6.3")}});
  ASSERT_TRUE(old.ok()) << old.status().ToString();
  EXPECT_EQ(old->irq_path, IrqPath::kWorkqueue);
  auto now = Config("virtio.vduse", Backend::kVduse, {{"bus", std::string("vhost-vdpa")}, {"kernel_version", std::string("6.4")}});
  ASSERT_TRUE(now.ok());
  EXPECT_EQ(now->irq_path, IrqPath::kDirect);
  auto host = Config("virtio.vduse", Backend::kVduse, {{"kernel_version", std::string("6.12")}});
  ASSERT_TRUE(host.ok());
  EXPECT_EQ(host->irq_path, IrqPath::kWorkqueue);
  auto forced = Config("virtio.vduse", Backend::kVduse, {{"irq_path", std::string("direct")}});
  ASSERT_FALSE(forced.ok());
  EXPECT_NE(forced.status().message().find("params.irq_path"), std::string::npos);
  auto early = Config("virtio.vduse", Backend::kVduse,
                      {{"bus", std::string("vhost-vdpa")}, {"irq_path", std::string("direct")},
                       {"kernel_version", std::string("6.1")}});
  ASSERT_FALSE(early.ok());
  EXPECT_NE(early.status().message().find("needs kernel 6.4"), std::string::npos) << early.status().message();
}

TEST(VirtioModels, ReleasesGateWhatTheyIntroduced) {
  struct Case {
    const char* model;
    Backend b;
    std::map<std::string, model::ParamValue> given;
    bool net;
    const char* need;  // "" = accepted
  };
  const Case cases[] = {
      {"virtio.vduse", Backend::kVduse, {{"kernel_version", std::string("5.14")}}, false, "VDUSE needs kernel 5.15"},
      {"virtio.vduse", Backend::kVduse, {{"kernel_version", std::string("5.15")}}, false, ""},
      {"virtio.vduse", Backend::kVduse, {{"kernel_version", std::string("6.8")}}, true, "net device needs kernel 6.9"},
      {"virtio.vduse", Backend::kVduse, {{"kernel_version", std::string("6.9")}}, true, ""},
      {"virtio.vduse", Backend::kVduse, {{"kernel_version", std::string("5.19")}, {"reg_umem", true}}, false,
       "reg_umem needs kernel 6.0"},
      {"virtio.ublk", Backend::kUblk, {{"kernel_version", std::string("5.19")}}, false, "ublk needs kernel 6.0"},
      {"virtio.ublk", Backend::kUblk, {{"kernel_version", std::string("6.14")}, {"zero_copy", true}}, false,
       "zero_copy needs kernel 6.15"},
      {"virtio.ublk", Backend::kUblk, {{"kernel_version", std::string("6.15")}, {"zero_copy", true}}, false, ""},
      {"virtio.vhost-net", Backend::kVhostNet, {{"kernel_version", std::string("4.19")}, {"ring", std::string("packed")}},
       true, "ring: packed needs kernel 5.0"},
      {"virtio.vhost-vdpa", Backend::kVhostVdpa, {{"kernel_version", std::string("5.7")}}, false,
       "doorbell_mapped needs kernel 5.8"},
      {"virtio.vhost-vdpa", Backend::kVhostVdpa,
       {{"kernel_version", std::string("5.8")}, {"posted_interrupts", true}}, false, "irq bypass) needs kernel 5.9"},
      {"virtio.vhost-net", Backend::kVhostNet, {{"kernel_version", std::string("4.5")}, {"busyloop_timeout", int64_t{50000}}},
       true, "busyloop_timeout needs kernel 4.6"},
  };
  for (const Case& c : cases) {
    auto got = Config(c.model, c.b, c.given, c.net);
    if (std::string(c.need).empty()) {
      EXPECT_TRUE(got.ok()) << c.model << ": " << got.status().ToString();
    } else {
      ASSERT_FALSE(got.ok()) << c.model << " should need " << c.need;
      EXPECT_NE(got.status().message().find(c.need), std::string::npos) << got.status().message();
    }
  }
}

TEST(VirtioModels, BusOnlyParametersAreRefusedOnTheOtherBus) {
  const std::string vhost = "vhost-vdpa";
  auto umem = Config("virtio.vduse", Backend::kVduse, {{"bus", vhost}, {"reg_umem", true}});
  ASSERT_FALSE(umem.ok());
  EXPECT_NE(umem.status().message().find("params.reg_umem"), std::string::npos);
  auto bounce = Config("virtio.vduse", Backend::kVduse, {{"bus", vhost}, {"bounce_size", int64_t{1} << 20}});
  ASSERT_FALSE(bounce.ok());
  EXPECT_NE(bounce.status().message().find("params.bounce_size"), std::string::npos);
  auto posted = Config("virtio.vduse", Backend::kVduse, {{"posted_interrupts", true}});
  ASSERT_FALSE(posted.ok());
  EXPECT_NE(posted.status().message().find("params.posted_interrupts"), std::string::npos);
  EXPECT_TRUE(Config("virtio.vduse", Backend::kVduse, {{"bus", vhost}, {"posted_interrupts", true}}).ok());
  EXPECT_TRUE(Config("virtio.vduse", Backend::kVduse, {{"reg_umem", true}}).ok());
}

TEST(VirtioModels, RingSizeIsAPowerOfTwoUpTo32768) {
  const model::ModelInfo* info = Models().Find("virtio.vhost-net");
  ASSERT_NE(info, nullptr);
  auto bad = model::ResolveParams(info->params, {{"queue_size", int64_t{1000}}}, "variants[0].params");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "variants[0].params.queue_size: 1000 is not a power of two");
  EXPECT_FALSE(model::ResolveParams(info->params, {{"queue_size", int64_t{65536}}}, "p").ok());
  EXPECT_TRUE(model::ResolveParams(info->params, {{"queue_size", int64_t{32768}}}, "p").ok());
  // ublk's queue depth is its tag count: UBLK_MAX_QUEUE_DEPTH is 4096.
  auto ublk = Config("virtio.ublk", Backend::kUblk, {{"queue_size", int64_t{8192}}});
  ASSERT_FALSE(ublk.ok());
  EXPECT_NE(ublk.status().message().find("4096"), std::string::npos);
}

}  // namespace
}  // namespace kreplay::virtio
