// The crypto code's name for the sector number (core/types.hpp): the XTS tweak of a data unit.
#pragma once

#include "core/types.hpp"

namespace tv::crypto {

using tv::Lba;

}  // namespace tv::crypto
