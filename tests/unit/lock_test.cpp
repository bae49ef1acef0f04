// The interface lock: lock files live only while an interface has a state,
// including those a killed holder left behind.
#include "runtime/lock.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/file.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "runtime/state.h"

namespace rt = secpol::rt;
namespace fs = std::filesystem;

namespace {

class LockDir : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("secpol-lock-test-" + std::to_string(::getpid()));
        fs::remove_all(dir_);
        fs::create_directories(dir_);
        setenv("SECPOL_RUN_DIR", dir_.c_str(), 1);
    }
    void TearDown() override {
        unsetenv("SECPOL_RUN_DIR");
        fs::remove_all(dir_);
    }
    fs::path lock(const std::string& iface) const { return dir_ / (iface + ".lock"); }
    void touch(const fs::path& p) const { std::ofstream(p).put('\n'); }
    fs::path dir_;
};

}  // namespace

TEST_F(LockDir, ReleasedWithoutAStateTheFileGoes) {
    {
        auto l = rt::InterfaceLock::acquire("veth-l0");
        ASSERT_TRUE(l) << l.error().message;
        EXPECT_TRUE(fs::exists(lock("veth-l0")));
    }
    EXPECT_FALSE(fs::exists(lock("veth-l0")));
}

// What a holder killed before it wrote a state leaves (/run/secpol/spx59de75.lock
// of a test's veth): the next exclusive lock of any interface removes it, but
// never a file someone holds, nor one of an interface with a state.
TEST_F(LockDir, FilesLeftByAKilledHolderGoWithTheNextLock) {
    touch(lock("gone0"));  // nobody holds it, no state: left by a dead process
    touch(lock("held0"));  // held by a live process (here, an open fd with the flock)
    touch(lock("kept0"));  // its interface has a state
    fs::create_directories(dir_ / "kept0");
    touch(dir_ / "kept0" / "state.json");
    touch(dir_ / "notalock");
    int held = ::open(lock("held0").c_str(), O_RDWR | O_CLOEXEC);
    ASSERT_GE(held, 0);
    ASSERT_EQ(flock(held, LOCK_EX | LOCK_NB), 0);

    // A reader (shared) changes nothing.
    {
        auto r = rt::InterfaceLock::acquire("kept0", rt::InterfaceLock::Mode::Shared);
        ASSERT_TRUE(r) << r.error().message;
    }
    EXPECT_TRUE(fs::exists(lock("gone0")));

    {
        auto l = rt::InterfaceLock::acquire("veth-l1");
        ASSERT_TRUE(l) << l.error().message;
        EXPECT_FALSE(fs::exists(lock("gone0")));
        EXPECT_TRUE(fs::exists(lock("held0")));
        EXPECT_TRUE(fs::exists(lock("kept0")));
        EXPECT_TRUE(fs::exists(lock("veth-l1")));  // its own, held
        EXPECT_TRUE(fs::exists(dir_ / "notalock"));
    }
    EXPECT_FALSE(fs::exists(lock("veth-l1")));
    EXPECT_TRUE(fs::exists(lock("held0")));

    // Its holder gone, the held one goes with the next lock too.
    ::close(held);
    {
        auto l = rt::InterfaceLock::acquire("veth-l1");
        ASSERT_TRUE(l) << l.error().message;
    }
    EXPECT_FALSE(fs::exists(lock("held0")));
    EXPECT_TRUE(fs::exists(lock("kept0")));
}
