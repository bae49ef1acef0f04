// Expected-style result for the runtime API: a value, or an error carrying
// errno and a human-readable context ("eth0: attach XDP: Device or resource busy").
#pragma once

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>
#include <variant>

namespace secpol {

struct Error {
    int err = 0;          // positive errno, 0 when not a system error
    std::string message;  // full context, ready to print

    static Error sys(int e, std::string context) {
        if (e < 0) e = -e;
        return Error{e, context + ": " + std::strerror(e)};
    }
    static Error msg(std::string m, int e = 0) { return Error{e, std::move(m)}; }
};

template <typename T>
class Result {
  public:
    Result(T v) : v_(std::move(v)) {}
    Result(Error e) : v_(std::move(e)) {}
    bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }
    T& value() { return std::get<0>(v_); }
    const T& value() const { return std::get<0>(v_); }
    T& operator*() { return value(); }
    T* operator->() { return &value(); }
    const Error& error() const { return std::get<1>(v_); }

  private:
    std::variant<T, Error> v_;
};

struct Ok {};
using Status = Result<Ok>;
inline Status ok() {
    return Ok{};
}

}  // namespace secpol
