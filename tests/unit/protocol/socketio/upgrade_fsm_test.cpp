#include "protocol/socketio/upgrade_fsm.hpp"

#include <gtest/gtest.h>

namespace realtime::socketio {
namespace {

using Type = UpgradeFsm::Action::Type;
using State = UpgradeFsm::State;

TEST(EngineIoUpgradeTest, ProbeThenUpgradeSwitches) {
  UpgradeFsm fsm;
  EXPECT_EQ(fsm.state(), State::awaiting_probe);
  EXPECT_FALSE(fsm.answer_polls_with_noop());

  const auto probe = fsm.on_text("2probe");
  EXPECT_EQ(probe.type, Type::probe_answered);
  EXPECT_EQ(probe.text, "3probe");
  EXPECT_EQ(fsm.state(), State::probed);
  EXPECT_TRUE(fsm.answer_polls_with_noop());

  const auto upgrade = fsm.on_text("5");
  EXPECT_EQ(upgrade.type, Type::switch_transport);
  EXPECT_EQ(fsm.state(), State::upgraded);
  EXPECT_FALSE(fsm.answer_polls_with_noop());
}

TEST(EngineIoUpgradeTest, RepeatedProbeIsAnsweredAgain) {
  UpgradeFsm fsm;
  fsm.on_text("2probe");
  const auto again = fsm.on_text("2probe");
  EXPECT_EQ(again.type, Type::probe_answered);
  EXPECT_EQ(again.text, "3probe");
  EXPECT_EQ(fsm.on_text("5").type, Type::switch_transport);
}

TEST(EngineIoUpgradeTest, UpgradeWithoutProbeAborts) {
  UpgradeFsm fsm;
  EXPECT_EQ(fsm.on_text("5").type, Type::abort);
  EXPECT_EQ(fsm.state(), State::aborted);
}

TEST(EngineIoUpgradeTest, AnythingElseBeforeTheSwitchAborts) {
  for (std::string_view frame :
       {"2", "2prob", "2probex", "3probe", "42[\"x\"]", "", "6", "1", "5x", "bAQ=="}) {
    UpgradeFsm fresh;
    EXPECT_EQ(fresh.on_text(frame).type, Type::abort) << frame;
    UpgradeFsm probed;
    probed.on_text("2probe");
    EXPECT_EQ(probed.on_text(frame).type, Type::abort) << frame;
    EXPECT_FALSE(probed.answer_polls_with_noop());
  }
}

TEST(EngineIoUpgradeTest, BinaryFrameAborts) {
  UpgradeFsm fsm;
  fsm.on_text("2probe");
  EXPECT_EQ(fsm.on_binary().type, Type::abort);
  EXPECT_EQ(fsm.state(), State::aborted);
}

TEST(EngineIoUpgradeTest, TimeoutAbortsUnlessUpgraded) {
  UpgradeFsm waiting;
  EXPECT_EQ(waiting.on_timeout().type, Type::abort);
  UpgradeFsm probed;
  probed.on_text("2probe");
  EXPECT_EQ(probed.on_timeout().type, Type::abort);
  UpgradeFsm done;
  done.on_text("2probe");
  done.on_text("5");
  EXPECT_EQ(done.on_timeout().type, Type::none);
  EXPECT_EQ(done.state(), State::upgraded);
}

TEST(EngineIoUpgradeTest, AbortIsFinal) {
  UpgradeFsm fsm;
  fsm.on_text("x");
  EXPECT_EQ(fsm.on_text("2probe").type, Type::abort);
  EXPECT_EQ(fsm.on_text("5").type, Type::abort);
  EXPECT_EQ(fsm.state(), State::aborted);
}

TEST(EngineIoUpgradeTest, AfterTheSwitchNothingMoreHappensHere) {
  UpgradeFsm fsm;
  fsm.on_text("2probe");
  fsm.on_text("5");
  EXPECT_EQ(fsm.on_text("42[\"x\"]").type, Type::none);
  EXPECT_EQ(fsm.on_binary().type, Type::none);
  EXPECT_EQ(fsm.state(), State::upgraded);
}

}  // namespace
}  // namespace realtime::socketio
