// The rule file and the normalisation of the resolved ranges.
#include <algorithm>
#include <map>

#include "tools/thinvisor-policy/resolve.hpp"

namespace tv::policytool {

namespace {

using policy::Action;

bool action_of(std::string const& w, Action& a) {
    for (Action x : {Action::Protect, Action::AppendOnly, Action::Audit, Action::Discard})
        if (w == policy::action_name(x)) return a = x, true;
    return false;
}

int strength(Action a) {
    switch (a) {
        case Action::Protect: return 4;
        case Action::AppendOnly: return 3;
        case Action::Discard: return 2;
        case Action::Audit: return 1;
    }
    return 0;
}

std::string trim(std::string const& s) {
    size_t a = s.find_first_not_of(" \t\r"), b = s.find_last_not_of(" \t\r");
    return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}

}  // namespace

bool parse_rules(std::string const& text, std::vector<Rule>& out, std::string& err) {
    unsigned line = 0;
    for (size_t pos = 0; pos < text.size();) {
        size_t end = text.find('\n', pos);
        if (end == std::string::npos) end = text.size();
        std::string const l = trim(text.substr(pos, end - pos));
        pos = end + 1;
        ++line;
        if (l.empty() || l[0] == '#') continue;
        size_t const sp = l.find_first_of(" \t");
        Rule r{Action::Protect, "", line};
        std::string const word = l.substr(0, sp);
        if (sp == std::string::npos || !action_of(word, r.action))
            return err = "line " + std::to_string(line) + ": expected 'ACTION /path' (protect, append-only, audit, discard), got '" + l + "'", false;
        r.pattern = trim(l.substr(sp));
        if (r.pattern.empty() || r.pattern[0] != '/' || r.pattern.size() > policy::kMaxPathLen)
            return err = "line " + std::to_string(line) + ": the path must be absolute (and at most 255 characters)", false;
        out.push_back(r);
    }
    if (out.empty()) return err = "the rule file has no rules", false;
    return true;
}

std::vector<ByteRange> normalize(std::vector<ByteRange> const& in) {
    // Elementary intervals between all boundaries; each takes the strongest covering range.
    std::vector<u64> cuts;
    for (ByteRange const& r : in) cuts.push_back(r.offset), cuts.push_back(r.offset + r.length);
    std::sort(cuts.begin(), cuts.end());
    cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
    std::vector<ByteRange const*> order;
    for (ByteRange const& r : in) order.push_back(&r);
    std::stable_sort(order.begin(), order.end(), [](auto a, auto b) { return a->offset < b->offset; });
    std::vector<ByteRange> out;
    std::multimap<u64, ByteRange const*> open;  // by end
    size_t next = 0;
    for (size_t i = 0; i + 1 < cuts.size(); ++i) {
        u64 const from = cuts[i], to = cuts[i + 1];
        while (next < order.size() && order[next]->offset <= from) open.emplace(order[next]->offset + order[next]->length, order[next]), ++next;
        while (!open.empty() && open.begin()->first <= from) open.erase(open.begin());
        ByteRange const* best = nullptr;
        for (auto const& [end, r] : open)
            if (!best || strength(r->action) > strength(best->action) ||
                (strength(r->action) == strength(best->action) && r < best))
                best = r;
        if (!best) continue;
        if (!out.empty() && out.back().offset + out.back().length == from && out.back().action == best->action &&
            out.back().path == best->path)
            out.back().length += to - from;
        else
            out.push_back({from, to - from, best->action, best->path});
    }
    return out;
}

}  // namespace tv::policytool
