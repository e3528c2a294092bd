// ublk tag states as ublk_drv.c's struct ublk_io flags move (UBLK_IO_FLAG_*).
#include "workers/models/virtio/sim/ublk_tags.h"

#include <gtest/gtest.h>

namespace kreplay::virtio {
namespace {

TEST(UblkTags, EveryTagStartsFetchedAndOwnedByTheDriver) {
  UblkQueue q(4);
  for (uint16_t t = 0; t < 4; ++t) EXPECT_EQ(q.flags(t), UblkQueue::kActive);
  EXPECT_EQ(q.free_tags(), 4u);
}

TEST(UblkTags, DeliveryHandsTheTagToTheServerAndCommitRearmsIt) {
  UblkQueue q(2);
  auto tag = q.Deliver(77);
  ASSERT_TRUE(tag.has_value());
  // The FETCH command's CQE is posted: no longer ACTIVE, owned by the server.
  EXPECT_EQ(q.flags(*tag), UblkQueue::kOwnedBySrv);
  EXPECT_EQ(q.token(*tag), 77u);
  EXPECT_EQ(q.TakeDelivered(), std::vector<uint16_t>{*tag});
  EXPECT_TRUE(q.TakeDelivered().empty());
  // COMMIT_AND_FETCH_REQ: the request ends, the tag is fetched again.
  ASSERT_TRUE(q.Commit(*tag).ok());
  EXPECT_EQ(q.flags(*tag), UblkQueue::kActive);
  EXPECT_EQ(q.free_tags(), 2u);
}

TEST(UblkTags, NoFreeTagMakesTheSubmitterWait) {
  UblkQueue q(2);
  EXPECT_TRUE(q.Deliver(1).has_value());
  EXPECT_TRUE(q.Deliver(2).has_value());
  EXPECT_FALSE(q.Deliver(3).has_value());
}

TEST(UblkTags, CommitOfATagTheServerDoesNotOwnIsRefused) {
  UblkQueue q(2);
  // ublk_ch_uring_cmd(): COMMIT_AND_FETCH on a tag without OWNED_BY_SRV is -EINVAL.
  EXPECT_FALSE(q.Commit(0).ok());
  auto tag = q.Deliver(5);
  ASSERT_TRUE(q.Commit(*tag).ok());
  EXPECT_FALSE(q.Commit(*tag).ok());  // twice
  EXPECT_FALSE(q.Commit(9).ok());     // beyond the depth
}

}  // namespace
}  // namespace kreplay::virtio
