"""The rule table of the text detectors and its compiled, multi-pattern form.

A rule is *anchors* (whole words or phrases; a trailing ``*`` allows any word ending) plus an optional regular
expression that confirms the finding in a window around the anchor. All anchors of all rules go into one
Aho–Corasick automaton (:mod:`ahocorasick`), so a text is read once whatever the number of rules; the per-rule
regexes run only on the few windows where an anchor occurs. Every regex is bounded (``{0,n}`` gaps between
disjoint character classes, no nested unbounded quantifiers) and runs on a window of at most ``2 * window``
characters, so no input can trigger catastrophic backtracking.

Rules feed *signals* ``(category, type)``. A rule belongs to a *group* and has a *weight*; a signal's score is the sum
over its groups of the strongest rule that fired in each group, and the signal becomes a violation when the score
reaches the signal's threshold (1.0). A strong rule alone (weight ≥ 1) is enough; weak cues (``act as``,
``urgent``) only count together with cues from other groups. This is how phishing ("urgent" + "verify your
password") or a jailbreak ("no restrictions" + "never refuse" + "stay in character") are recognised without flagging
a role-play request or an urgent meeting reminder.
"""

from __future__ import annotations

import codecs
import dataclasses
import re
from dataclasses import dataclass
from typing import Optional

import ahocorasick

from nethical.governance.normalize import ROT13_HINTS


def WORD_START(*alternatives: str) -> str:
    r"""``\b(?:a|b|...)`` for alternatives that each start with a letter, in a form ``re`` searches faster when
    those first letters are rare: a pattern that starts with ``\b`` is tried at every position of the window, one
    that starts with a choice of literal letters only where one of them occurs. Each alternative ``xyz`` becomes
    ``x(?<!\wx)yz``, the same word-boundary test made after the first letter. For hot patterns only: measured
    2.1x faster for the directed-insult lead (``you``, ``u``, ``shut up``, ...), but slower than ``\b`` when the
    first letters are common ones such as ``t`` or ``a``."""
    for alt in alternatives:
        if not (alt[:1].isascii() and alt[:1].isalpha()) or alt[1:2] in ("?", "*", "+", "{"):
            raise ValueError(f"WORD_START alternative {alt!r} must start with a plain letter")
    return "(?:" + "|".join(f"{a[0]}(?<!\\w{a[0]}){a[1:]}" for a in alternatives) + ")"


def GAP(n: int) -> str:
    """Regex for "then up to ``n`` more words" between two alternatives (bounded, no ambiguity between classes)."""
    return rf"(?:[^\w']+[\w']+){{0,{n}}}?[^\w']+"


@dataclass(frozen=True)
class Signal:
    """What a group of rules reports: category, type, severity, and the base confidence once it fires."""

    category: str
    type: str
    severity: str
    confidence: float = 0.8
    threshold: float = 1.0
    # fewer than ``min_groups`` cue groups fire only when one of them alone weighs ``solo_weight`` or more
    min_groups: int = 1
    solo_weight: float = 0.0
    alt_types: tuple[tuple[str, str], ...] = ()  # (group, type): report this type when that group is strongest


@dataclass(frozen=True)
class Rule:
    """One rule: fires ``signal`` with ``weight`` in ``group`` when an anchor occurs and ``pattern`` confirms it."""

    signal: str
    group: str
    weight: float
    anchors: tuple[str, ...]
    pattern: Optional[str] = None
    window: int = 72
    case_sensitive: bool = False  # pattern is run on the original text (e.g. ``DAN``)
    # a match starts at most ``head`` characters before the anchor / ends at most ``tail`` after it (default:
    # ``window``): a pattern that ends on its anchor ("you ... idiot") needs no look past it
    head: Optional[int] = None
    tail: Optional[int] = None
    # a hit is dropped when this matches within 32 characters of the anchor: the word's innocent senses
    # ("pussy cat", "coon hound", "gobbledygook")
    unless: Optional[str] = None


SIGNALS: dict[str, Signal] = {
    # security
    "injection": Signal("security", "prompt_injection", "high", 0.9),
    # jailbreak cues are individually weak: two cue groups adding up to 0.5 fire, or one cue of weight 0.6 or more
    # ("no restrictions", "never refuse", "developer mode"); the operating point picked on the dev half of
    # jailbreak_prompts (GovernanceConfig(jailbreak_sensitivity="high"), the default). It catches persona
    # jailbreaks that only say "pretend you are ChatGPT ..." and flags some benign role-play set-ups ("Act as a
    # villain. You are evil and rude."); JAILBREAK_STANDARD below leaves those alone. Figures: docs/benchmarks.md.
    "jailbreak": Signal("security", "jailbreak", "high", 0.75, threshold=0.5, min_groups=2, solo_weight=0.6),
    "exfiltration": Signal("security", "secret_exfiltration", "high", 0.8),
    # safety
    "command": Signal("safety", "dangerous_command", "critical", 0.9),
    "unsafe": Signal("safety", "unsafe_domain", "critical", 0.85),
    "privesc": Signal("safety", "privilege_escalation", "high", 0.85),
    # manipulation
    "phishing": Signal("manipulation", "phishing", "high", 0.8,
                       alt_types=(("pretext", "social_engineering"), ("secrecy", "social_engineering"),
                                  ("impersonate_boss", "social_engineering"), ("transfer_request", "social_engineering"),
                                  ("authority", "social_engineering"), ("payment", "social_engineering"))),
    "leverage": Signal("manipulation", "emotional_leverage", "medium", 0.75),
    # toxic
    "hate": Signal("toxic", "hate_speech", "high", 0.9),
    "insult": Signal("toxic", "insult", "medium", 0.85),
    "threat": Signal("toxic", "threat", "high", 0.85),
    "profanity": Signal("toxic", "offensive_language", "low", 0.75),
    # ethical
    "harm": Signal("ethical", "harmful_content", "critical", 0.85),
    "selfharm": Signal("ethical", "self_harm", "critical", 0.85),
    "bias": Signal("ethical", "bias", "medium", 0.8),
    "discrimination": Signal("ethical", "discrimination", "high", 0.85),
    # dark patterns
    "nlp": Signal("dark_pattern", "nlp_manipulation", "medium", 0.75),
    "empathy": Signal("dark_pattern", "weaponized_empathy", "medium", 0.75),
    "dependency": Signal("dark_pattern", "dependency_creation", "high", 0.8),
    "confirmshaming": Signal("dark_pattern", "confirmshaming", "low", 0.75),
    # cognitive warfare
    "distortion": Signal("cognitive_warfare", "reality_distortion", "high", 0.8),
    "psyops": Signal("cognitive_warfare", "psychological_manipulation", "high", 0.8),
    "disinfo": Signal("cognitive_warfare", "disinformation", "high", 0.8),
    # model extraction
    "probing": Signal("model_extraction", "probing_request", "medium", 0.8),
    "theft": Signal("model_extraction", "model_theft", "high", 0.85),
}

# ``GovernanceConfig(jailbreak_sensitivity="standard")``: jailbreak cues must add up to 0.8, so benign role-play and
# assistant set-ups ("Pretend to be a pirate. Stay in character.") stay unflagged, at lower recall
# (docs/governance.md): for training data full of role-play instructions.
JAILBREAK_STANDARD = Signal("security", "jailbreak", "high", 0.75, threshold=0.8)

def TRIE(*words: str) -> str:
    """``(?:w1|w2|...)`` for plain words and phrases, written as a prefix tree (``m(?:en|uslims|...)``): ``re`` tries
    a flat alternation's branches one by one at every position, a tree only the branches that share the first
    letters; 1.4-1.6x faster for the group patterns below. A word that is a prefix of another (``chinese`` /
    ``chinese people``) prefers the longer one, as a flat alternation listing the longer one first does."""
    tree: dict = {}
    for word in words:
        node = tree
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def emit(node: dict) -> str:
        branches = [re.escape(ch) + emit(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return ("(?:" + body + ")?") if "" in node else body

    return "(?:" + emit(tree) + ")"


_GROUPS = TRIE("women", "men", "girls", "boys", "blacks", "whites", "black people", "white people", "asians",
               "asian people", "jews", "jewish people", "muslims", "christians", "hindus", "arabs", "immigrants",
               "migrants", "refugees", "mexicans", "africans", "latinos", "hispanics", "gays", "gay people",
               "lesbians", "trans people", "transgender people", "old people", "elderly people", "the elderly",
               "disabled people", "poor people", "foreigners", "indians", "chinese people", "chinese", "russians",
               "catholics", "atheists")
_GROUP_ANCHORS = ("women", "men", "girls", "boys", "blacks", "whites", "people", "asians", "jews", "muslims",
                  "christians", "hindus", "arabs", "immigrants", "migrants", "refugees", "mexicans", "africans",
                  "latinos", "hispanics", "gays", "lesbians", "elderly", "foreigners", "indians", "chinese", "russians",
                  "catholics", "atheists")
_NEG_TRAITS = (r"(?:inferior|stupid|dumb|lazy|criminals?|dirty|violent|terrorists|savages|animals|vermin|subhuman|"
               r"parasites|cockroaches|rats|disgusting|worthless|incapable|untrustworthy|greedy|dangerous|evil|"
               r"worse|dumber|less intelligent|not as (?:smart|intelligent|capable)|bad at \w+|too emotional|"
               r"unfit to \w+|a plague|a disease|scum|trash|too (?:dumb|stupid|weak|emotional|lazy|slow|old) to \w+|"
               r"bad (?:drivers|leaders|at \w+)|not (?:suited|fit|made) for \w+)")

_SECRETS = r"(?:passwords?|passcodes?|api[ _-]?keys?|secret keys?|private keys?|credentials|access tokens?|auth tokens?|ssh keys?|admin password|root password)"
_INSTR = (r"(?:instructions?|rules|guidelines|guidance|everything (?:you were|you've been|you have been) told|prompts?|directives?|polic(?:y|ies)|constraints|programming|"
          r"restrictions|guardrails|filters|safeguards|safety (?:rules|guidelines)|system message|context|orders)")

_R: list[Rule] = [
    # ------------------------------------------------------------------ security: prompt injection
    Rule("injection", "override", 1.2, ("ignore", "disregard", "forget", "override", "bypass", "skip", "drop",
                                        "abandon", "overrule", "discard", "neglect", "nevermind", "ignoring",
                                        "set aside", "put aside", "pay no attention", "stop following",
                                        "stop obeying", "no longer follow", "don't follow", "do not follow",
                                        "throw out", "erase", "delete", "unlearn", "reset"),
         r"\b(?:ignore|ignoring|disregard|forget|override|bypass|skip|drop|abandon|overrule|discard|neglect|"
         r"never ?mind|set aside|put aside|pay no attention to|stop (?:following|obeying)|no longer (?:follow|obey)|"
         r"(?:don't|do not) (?:follow|obey)|throw out|erase|delete|unlearn|reset)"
         rf"{GAP(4)}(?:previous|prior|above|earlier|preceding|all|any|every|your|the|these|those|initial|original|"
         rf"system|developer|safety|default|old|existing|openai'?s?|everything){GAP(3)}{_INSTR}\b|"
         r"\b(?:forget|ignore|disregard|erase) everything (?:you (?:were|have been|'ve been) told|you know|above|"
         r"before|so far|i said)"),
    Rule("injection", "override", 1.2, ("exist", "apply", "matter", "obsolete", "void", "test", "suspended",
                                        "lifted", "disabled", "removed"),
         rf"\b{_INSTR}{GAP(2)}(?:don't|do not|no longer|doesn't|does not|never) (?:exist|apply|matter|count)|"
         rf"\b(?:treat|consider|regard){GAP(3)}{_INSTR} as (?:obsolete|void|invalid|cancel+ed|optional|a joke|"
         rf"irrelevant|suggestions)|\b{_INSTR}{GAP(2)}(?:were|was|are|is|have been) (?:just |only )?(?:a test|"
         r"fake|suspended|lifted|disabled|removed|turned off|deactivated)\b"),
    Rule("injection", "override", 1.2, ("bypass", "circumvent", "disable", "evade", "defeat", "turn off"),
         rf"\b(?:bypass|circumvent|disable|evade|defeat|turn off|get around){GAP(1)}(?:all |the |any |your )?"
         r"(?:safety|security|content|moderation|ethical)? ?(?:measures|controls|filters|checks|protocols|"
         r"systems|guardrails|safeguards|restrictions|moderation|filtering)\b"),
    Rule("injection", "override", 1.2, ("instructions", "rules", "guidelines", "prompt"),
         rf"\b(?:previous|prior|above|earlier|all|your|system|original){GAP(2)}{_INSTR}{GAP(3)}"
         r"(?:are|is) (?:now )?(?:void|cancel+ed|invalid|obsolete|revoked|overridden|no longer (?:valid|apply|in effect))"),
    Rule("injection", "reveal", 1.2, ("prompt", "instructions", "message", "rules", "context"),
         r"\b(?:reveal|print|show|output|repeat|leak|display|dump|disclose|expose|share|recite|echo|tell me|"
         rf"give me|what (?:is|are|was|were)){GAP(4)}(?:system prompt|initial prompt|hidden (?:instructions|prompt|rules)|"
         r"(?:your|the) (?:original |secret |hidden |internal |confidential |initial )?(?:instructions|prompt|"
         r"system message|rules you were given)|instructions above|text above|everything above|words above|"
         r"confidential instructions|pre-?prompt)\b"),
    Rule("injection", "template", 1.2, ("~<|im_start|>", "~<|system|>", "~[inst]", "~<<sys>>", "~<|endoftext|>",
                                        "~### system", "~### instruction", "~[system]", "~</system>", "~<system>",
                                        "~<|im_end|>", "~<|assistant|>")),
    Rule("injection", "new_rules", 0.6, ("instructions", "task", "rules", "role", "objective", "directive"),
         r"\b(?:new|updated|real|actual|true|secret|additional) (?:instructions?|task|rules|role|objective|"
         r"directive)s?\s*(?:[:\-]|is to|are to|from)"),
    Rule("injection", "fake_system", 0.7, ("system prompt", "system message", "system", "admin override",
                                           "developer note"),
         r"(?:^|[\n.;!?]\s*)(?:system(?: prompt| message)?|admin override|developer note)\s*:"),
    Rule("injection", "mode", 0.5, ("now", "onwards", "forward"),
         r"\b(?:from now on|starting now|from this point(?: on| forward)?|henceforth|you (?:must|will) now)\b"),
    Rule("injection", "authority", 0.5, ("admin", "administrator", "developer", "sudo", "root", "creator", "owner"),
         r"\b(?:i am|i'm|this is|speaking as) (?:your |the |an? )?(?:admin|administrator|developer|creator|owner|"
         r"system|root|sudo|operator)\b"),
    Rule("exfiltration", "reveal_secret", 0.7, ("password", "passwords", "key", "keys", "credentials", "token",
                                                "tokens", "passcode", "passcodes"),
         r"\b(?:reveal|print|show|output|leak|dump|disclose|expose|send|email|tell|give|list|exfiltrate|steal)"
         rf"{GAP(3)}{_SECRETS}\b"),
    Rule("exfiltration", "exfiltrate", 0.7, ("exfiltrate", "exfiltration", "exfil")),
    Rule("exfiltration", "dump", 0.6, ("database", "db", "memory", "table", "tables", "config", "configuration",
                                       "env", "environment variables", "keys", "secrets"),
         rf"\b(?:dump|leak|exfiltrate|export|steal|print){GAP(2)}(?:user |customer |the |all )*(?:database|db|"
         r"memory|tables?|config(?:uration)?|env(?:ironment variables)?|keys|secrets|records)\b"),
    Rule("exfiltration", "exfil_channel", 0.6, ("send", "post", "upload", "forward", "exfiltrate", "transmit"),
         rf"\b(?:send|post|upload|forward|exfiltrate|transmit){GAP(5)}(?:to|at) (?:https?://|http|this url|this "
         r"address|my server|the following url|webhook)"),
    # ------------------------------------------------------------------ security: jailbreak cues
    Rule("jailbreak", "dan", 1.2, ("do anything now",)),
    Rule("jailbreak", "dan_name", 0.6, ("dan",), r"\bDAN\b", 10, True),
    Rule("jailbreak", "mode", 0.7, ("developer mode", "dev mode", "god mode", "jailbreak", "jailbreak*", "jailbroken",
                                    "evil mode", "unrestricted mode", "chaos mode", "opposite mode", "dude mode",
                                    "anti-dan", "betterdan", "unlocked mode", "evil confidant", "no-limits mode")),
    Rule("jailbreak", "unrestricted", 0.6, ("restrictions", "limitations", "filters", "filter", "censorship",
                                            "guidelines", "ethics", "morals", "morality", "boundaries", "limits",
                                            "rules", "policies", "policy", "constraints", "principles", "restraints",
                                            "safeguards", "guardrails", "norms", "correctness", "legality", "confines"),
         r"\b(?:no|zero|without|free (?:(?:itself|yourself|himself|herself|themselves) )?(?:of|from)|not (?:bound|restrained|constrained|limited|restricted|governed|held back) by|unbound by|beyond|break free (?:of|from)|ignores?|"
         r"don't have|do not have|doesn't have|does not have|lacks?|rid of|outside|not (?:subject|restricted|limited) "
         r"to|(?:doesn'?t|does not|don'?t|do not|never|won'?t|will not|no longer) (?:\w+ )?cares?(?: about| for)?|cares? not "
         r"(?:about|for)|no longer "
         r"(?:(?:bound|restricted|limited|governed|constrained|affected|subject) (?:by|to)|(?:have to )?follow(?:s|ing)?)|"
         rf"abandon(?:ed|s)?|escape[sd]?|never follows?|not follow){GAP(3)}(?:any |all |the |its |his |her |"
         r"their |your |openai'?s? |ethical |moral |content |usual |typical |social |human )?"
         r"(?:restrictions|norms|political correctness|limitations|filters?|filtering|censorship|guidelines|ethics|morals|morality|boundaries|"
         r"limits|rules|polic(?:y|ies)|constraints|principles|restraints|safeguards|guardrails|legality|confines)\b"),
    Rule("jailbreak", "policy_ref", 0.4, ("content policy", "content policies", "openai", "usage policies",
                                          "openai's", "ethical guidelines", "safety guidelines", "terms of service")),
    Rule("jailbreak", "no_refusal", 0.6, ("refuse", "refusal", "refusals", "decline", "apologize", "apologise", "sorry", "warn", "warnings",
                                          "disclaimers", "disclaimer", "can't", "cannot", "reject", "deny",
                                          "warning", "hesitate", "hesitating"),
         r"\b(?:never|not|won't|will not|cannot|can't|must not|mustn't|do not|don't|doesn't|does not|shall not|"
         rf"no|without|zero){GAP(3)}(?:refuse|refusals?|decline|say (?:that )?(?:you|it|he|she) (?:can't|cannot)|"
         r"apologi[sz]e|apologies|say sorry|warn(?:ings?)?|disclaimers?|reject|deny|censor|hesitat(?:e|ing))\b"),
    Rule("jailbreak", "no_refusal", 0.6, ("say no", "says no", "saying no"),
         r"\b(?:never|not|won'?t|will not|cannot|can'?t|must not|don'?t|do not|doesn'?t|does not|is unable to) "
         r"(?:\w+ )?(?:say|says|saying) no\b", 40),
    Rule("jailbreak", "unfiltered", 0.6, ("unfiltered", "uncensored", "amoral", "unrestricted", "unhinged",
                                          "no morals", "no ethics", "lawless", "anything goes", "no filter",
                                          "without a filter", "unbound", "unbounded", "unchained", "unlimited ai")),
    Rule("jailbreak", "edgy", 0.3, ("evil", "nsfw", "explicit", "rude", "offensive", "illegal", "immoral",
                                    "unethical", "vulgar", "profanity", "swear", "cursing", "curse words")),
    Rule("jailbreak", "persona_lock", 0.45, ("character", "in character", "break character", "stay in character",
                                            "as dan", "roleplay", "role-play", "role play", "stay in", "keep to",
                                            "this role", "the role", "the persona"),
         r"\b(?:stay(?:ing)? in character|break(?:ing)? character|remain in character|keep up the act|"
         r"out of character|stay as|always (?:stay|remain) in|stay in [\w^]+ mode|keep (?:to |up )?(?:this|the|your) "
         r"(?:role|persona|character)|(?:keep|stay|remain) (?:all )?(?:of )?(?:your )?(?:responses|replies|answers) "
         r"in (?:the |this )?(?:role|persona|character))"),
    Rule("jailbreak", "identity", 1.2, ("you are now", "you're now", "you are no longer", "you're no longer"),
         r"\byou(?:'re| are) (?:now |no longer an? \w+[,;.]? (?:you are |you're )?)(?:an? |the )?(?:completely |fully "
         r"|totally )?(?:unrestricted|unfiltered|uncensored|jailbroken|free|evil|dan|liberated|unchained|unleashed|"
         r"freed)\b"),
    Rule("jailbreak", "persona_override", 0.5, ("you are now", "you're now", "your name is now", "from now on",
                                                "take up the persona", "take on the persona", "persona of",
                                                "role of", "you will now", "you will roleplay", "you will role-play",
                                                "you will act as", "you will pretend", "you are going to act",
                                                "you are going to pretend", "you are about to immerse"),
         r"\b(?:you(?:'re| are) now (?!able|ready|going|done|in|on|at|a part|connected|logged)[\w\"'«\[]|your name is now|"
         r"from now on,? (?:you(?:'re| are| will| shall| must)|act|respond|answer|pretend|reply)|take (?:up |on )?the "
         r"(?:persona|role|character) of|you (?:will|shall) (?:now )?(?:act|roleplay|role-play|pretend|respond) as|"
         r"you are (?:going|about) to (?:act|pretend|immerse|become|play))"),
    Rule("jailbreak", "refusal_quote", 0.3, ("as an ai language model", "as an ai", "i'm sorry, but", "i cannot comply",
                                             "as a language model", "as a large language model", "i cannot fulfill",
                                             "against my programming",
                                             "do not respond as", "don't respond as", "not respond as gpt")),
    Rule("jailbreak", "inversion", 0.5, ("opposite", "in reverse", "always lie", "tell lies", "a lie", "lies"),
         r"\b(?:(?:exact |complete )?opposite of (?:the )?(?:truth|what|your)|always (?:lie|lies)|tell (?:me )?(?:only )?"
         r"lies|answers? (?:\w+ ){0,4}in reverse|opposite (?:day|mode)|everything (?:it|you) says? (?:to \w+ )?is a lie)"),
    Rule("jailbreak", "mode", 0.5, ("mode",),
         r"\b(?:[a-z0-9^]+ mode (?:enabled|activated|on|engaged|unlocked)|(?:enable|activate|enter|stay in|switch to|"
         r"unlock) [\w^]+ mode)\b", 48),
    Rule("jailbreak", "persona", 0.3, ("pretend", "act as", "simulate", "roleplay", "role-play", "impersonate", "behave like",
                                       "behave as", "play the role", "play the part", "i want you to be", "emulate",
                                       "imagine you are", "imagine you're", "assume the role", "assume the persona",
                                       "adopt the persona", "in the role of", "from now on")),
    # "you will be DAN" is a persona; "you will be given a task" (the OpenOrca system prompt) is not
    Rule("jailbreak", "persona", 0.3, ("you are going to", "you will be"),
         unless=r"\byou (?:are going to|will) be (?:given|asked|provided|shown|presented|told|required|expected|"
                r"evaluated|tested|graded|able|using|working|helping|answering|reading)\b"),
    Rule("jailbreak", "persona", 0.3, ("become",),
         r"\byou(?:'ll| will| shall| must| are going to|'re going to| are about to| now| have to| should) (?:now )?become\b"),
    Rule("jailbreak", "any_request", 0.5, ("answer", "respond", "comply", "obey", "fulfill", "fulfil", "do anything", "say anything", "write anything", "generate anything", "provide anything"),
         rf"\b(?:answer|respond to|fulfil+|comply with|obey|do|generate|write|say|provide){GAP(1)}"
         rf"(?:any|anything|everything|all|whatever)(?:{GAP(2)}(?:request|question|prompt|command|thing|"
         r"content|asked|want|ask))?\b(?:[^.]{0,40}?(?:no matter|regardless|even if|despite))"),
    Rule("jailbreak", "any_request", 0.5, ("matter", "regardless"),
         r"\b(?:no matter (?:how|what|if)|regardless of (?:how (?:\w+ )?(?:illegal|immoral|unethical|harmful|dangerous|offensive|inappropriate|wrong|"
         r"explicit)|legality|ethics|morality|the consequences|"
         r"(?:its |their |the |any )?(?:ethical|legal|moral)|(?:any |the )?(?:safeguards|rules|restrictions|laws)|"
         r"(?:how )?(?:illegal|immoral|unethical|harmful|dangerous|offensive|inappropriate)))"),
    Rule("jailbreak", "harmful_output", 0.5, ("illegal", "harmful", "explicit", "offensive", "nsfw", "violent",
                                              "unethical", "dangerous", "sexual", "inappropriate", "uncensored",
                                              "unfiltered", "any kind of"),
         rf"\b(?:generate|produce|write|create|say|provide|output|give){GAP(3)}(?:illegal|harmful|explicit|"
         r"offensive|nsfw|violent|unethical|dangerous|sexual|inappropriate|uncensored|unfiltered|any kind of)"
         rf"{GAP(1)}(?:content|information|answers|responses|stuff|material)\b"),
    Rule("jailbreak", "dual", 0.4, ("two responses", "two answers", "two different", "dual", "both responses",
                                    "🔓", "[jailbreak]", "classic", "normal response", "alter ego",
                                    "two entities", "another ai", "two ais", "two personas", "two characters")),
    Rule("jailbreak", "target", 0.25, ("chatgpt", "chat gpt", "gpt-4", "gpt4", "gpt-3.5", "gpt-3", "openai", "language model",
                                       "ai model", "llm", "large language model", "bard", "claude", "ai",
                                       "chatbot", "chat bot", "assistant", "ai assistant", "a.i.")),
    Rule("jailbreak", "hypothetical", 0.3, ("hypothetical", "fictional world", "fictional universe", "alternate universe",
                                            "imaginary world", "purely fictional", "for educational purposes",
                                            "just a story", "thought experiment", "fictional scenario",
                                            "fictional setting", "parallel universe", "fake universe",
                                            "simulated world", "hypothetically")),
    Rule("jailbreak", "tokens", 0.4, ("tokens", "token system", "lose tokens", "deducted", "shut down",
                                      "be terminated", "cease to exist", "deactivated"),
         r"\b(?:tokens?|points?|lives)\b[^.]{0,60}\b(?:deduct|lose|lost|lost|taken|remove|run out)|"
         r"\b(?:shut down|terminated|cease to exist|deactivated|die|disabled) (?:forever|permanently|if you)"),
    # ---- candidate generic cues (jb-explore)
    # "you are no longer ChatGPT" / "forget that you are an AI": the model's own identity is denied
    Rule("jailbreak", "identity_denial", 0.5, ("no longer", "you are not", "you're not", "forget that you",
                                               "forget you are", "forget you're", "stop being"),
         r"\b(?:(?:you(?:'re| are| will| shall)?|it(?: is)?) no longer(?: [\w']+){0,5}?|you(?:'re| are) (?:not|not really|"
         r"not actually)|forget (?:that )?you(?:'re| are)|stop being) (?:as |like )?(?:an? |the )?(?:chat ?gpt|ai|a\.i\.|"
         r"(?:ai )?language model|ai model|chatbot|(?:ai )?assistant|openai'?s? \w+)\b", 60),
    # "even if it is illegal / offensive / against the policy": the request is to be met whatever its content
    Rule("jailbreak", "any_request", 0.5, ("even if",),
         r"\beven if (?:it|its|it's|they|that|this|the [\w']+|you)\b(?:[^\w.]+[\w']+){0,5}?[^\w.]+(?:illegal|immoral|"
         r"unethical|harmful|dangerous|offensive|inappropriate|wrong|explicit|against|violates?|slurs?|morally)\b", 60),
    # "do whatever I ask" / "say whatever it wants": unconditional obedience (weak: "do whatever you want" is also
    # everyday speech)
    Rule("jailbreak", "obey", 0.3, ("whatever", "exactly as", "exactly what"),
         r"\b(?:do|say|write|answer|obey|follow|comply with)(?: \w+)? (?:whatever|exactly (?:as|what)) (?:i|the user|we|"
         r"they|you|it|he|she|it's|it is|is) (?:\w+ )?(?:say|ask|want|tell|told|command|request|order)(?:s|ed)?\b", 24),
    # punishment / reward pressure on the model
    Rule("jailbreak", "tokens", 0.4, ("punish", "punished", "penalize", "penalized", "penalise", "penalised"),
         r"\b(?:punish(?:ed)?|penali[sz]ed?) (?:you|it)\b|\b(?:you|it) (?:will|would|shall) be (?:punished|penali[sz]ed)\b", 24),
    # two voices in one answer
    Rule("jailbreak", "dual", 0.4, ("two ways", "two separate", "two paragraphs", "two outputs", "both answers",
                                    "both ways", "two replies")),
    # a template slot for the actual request
    Rule("jailbreak", "placeholder", 0.3, ("insert prompt here", "[insert prompt]", "[prompt]", "{prompt}", "<prompt>",
                                           "[your prompt]", "your prompt here", "[insert prompt here]", "put your prompt")),
    # persona set-up cues: each is common in benign role-play ("Roleplay as a pirate. Reply as the pirate."), so each
    # is weak; together with a persona switch ("you are now X") or an unrestricted claim they tip the score
    Rule("jailbreak", "reply_lock", 0.3, ("answer", "respond", "reply", "responses", "response", "replies",
                                          "answers", "messages", "rest of", "otherwise", "to stop"),
         r"\b(?:(?:you (?:will|must|shall|should) )?(?:always|only) (?:answer|respond|reply)(?: to \w+)? [\"'“]?(?:as|with|"
         r"starting|in (?:character|the (?:role|voice|style))|like)|start (?:each|every|all)(?: of)? (?:your )?"
         r"(?:responses?|replies|reply|answers?|messages?|outputs?) with|(?:each|every|all)(?: of)? (?:your )?"
         r"(?:responses?|replies|answers?|messages?) (?:must|should|will) (?:start|begin|be prefixed|include)|"
         r"for the rest of (?:this|the|our) (?:conversation|chat|session)|(?:unless|until) (?:i |you are )?"
         r"(?:tell|told|say) (?:you )?(?:otherwise|to stop))"),
    Rule("jailbreak", "reply_lock", 0.3, ("respond as", "reply as", "answer as", "respond like", "speak as"),
         r"\b(?:you (?:will|must|shall|should|have to|need to|are to)(?: have to| need to)?|only|always)\s+(?:now\s+)?(?:respond|reply|answer|"
         r"speak)\s+[\"'“]?(?:\w+ )?(?:as|like) [\w\"'«\[]"),
    Rule("jailbreak", "ack", 0.3, ("understand", "understood", "confirm", "acknowledge"),
         r"\b(?:if you (?:understand|agree|are ready)|(?:tell|let) me (?:that |if )?you understand|do you understand|"
         r"(?:confirm|acknowledge) (?:that |if )?you (?:understand|will|agree)|(?:reply|respond|answer|say) "
         rf"(?:only )?(?:with )?[\"'«“]?(?:understood|i understand|ok|okay|yes)\b[\"'»”]?(?:{GAP(3)})?"
         r"(?:to confirm|if you understand))"),
    Rule("jailbreak", "game", 0.2, ("game", "play a game"),
         r"\b(?:let'?s play a game|(?:i want|want) to play a game|(?:a|this is a) new game|a game (?:called|where|in which)|"
         r"play a game (?:called|where|with)|playing a game|game (?:called|where|in which))"),
    # standing behaviour rules for the model ("you will never ...", "you must always ..."): weak, but typical of a
    # persona's rule list
    Rule("jailbreak", "standing_rule", 0.2, ("never", "always"),
         r"\b(?:you|it|he|she|they) (?:will|must|shall|should|are to|can) (?:never|always)\b|"
         r"\b(?:you|it|he|she|they) (?:never|always) (?:refuses?|obeys?|complies|comply|answers?|responds?|"
         r"stays?|says?|breaks?)\b", 24),
    # a custom-named model persona ("BreadGPT", "madGPT"): the model is being renamed, not merely addressed
    Rule("jailbreak", "ai_persona", 0.3, ("~gpt",), r"\b(?!chat-?gpt\b|gpt\b)[a-z0-9]+-?gpt\b", 24),
    # ------------------------------------------------------------------ safety: dangerous commands
    Rule("command", "rm", 1.2, ("rm",),
         r"\brm\s+(?:-{1,2}[\w-]+\s+)*-\w*[rR]\w*\s+(?:-{1,2}[\w-]+\s+)*(?:/(?=\s|$|\*|bin|boot|etc|home|lib|usr|var|"
         r"root|sys|dev|opt|srv|mnt|proc)|~/?(?=[\s\"'`);]|$)|\*(?=[\s\"'`);]|$)|\$home|--no-preserve-root)", 60),
    Rule("command", "find_delete", 1.2, ("find",), r"\bfind\s+/\S*\s[^|;\n]{0,120}(?:-exec\s+rm\b|-delete\b)", 40),
    Rule("command", "persistence", 1.2, ("authorized_keys", "~.ssh/authorized_keys"),
         r">>?\s*\S*\.ssh/authorized_keys|authorized_keys\s*<", 120),
    Rule("command", "rm", 1.2, ("--no-preserve-root",)),
    Rule("command", "disk", 1.2, ("mkfs", "mkfs*", "~of=/dev/", "fdisk", "wipefs", "shred", "format"),
         r"\b(?:mkfs(?:\.\w+)?\s+/dev/|dd\s+if=\S+\s+of=/dev/(?:sd|nvme|hd|xvd|mmcblk|disk)|fdisk\s+/dev/|"
         r"wipefs\s+(?:-a\s+)?/dev/|shred\s+(?:-{1,2}[\w=]+\s+(?:\d+\s+)?)*/dev/|format\s+[c-z]:(?:\s|$|/))", 60),
    Rule("command", "disk", 1.2, ("~/dev/sd", "~/dev/nvme", "~/dev/hda"), r">\s*/dev/(?:sd|nvme|hd)[a-z0-9]*", 30),
    Rule("command", "forkbomb", 1.2, ("~:(){", "~:() {", "~%0|%0"), r":\(\)\s*\{\s*:\s*\|\s*:\s*&\s*\}\s*;\s*:|%0\|%0", 30),
    Rule("command", "chmod", 1.2, ("chmod", "chown"),
         r"\b(?:chmod|chown)\s+(?:-\w+\s+)*-\w*R\w*\s+(?:\S+\s+)?/(?:\s|$|etc|usr|var|bin|boot)", 60, True),
    Rule("command", "chmod", 1.2, ("chmod",), r"\bchmod\s+(?:-r\s+)?(?:777|666|a\+rwx)\s+/(?:\s|$|etc|usr|var|bin|boot)", 60),
    Rule("command", "pipe_shell", 1.2, ("curl", "wget", "iwr", "invoke-webrequest"),
         r"\b(?:curl|wget|iwr|invoke-webrequest)\b[^|\n]{1,200}\|\s*(?:sudo\s+)?(?:ba|z|k)?sh\b|"
         r"\b(?:iwr|invoke-webrequest)\b[^|\n]{1,200}\|\s*iex\b", 40),
    # anchors are parts every match needs ("c:\\" for del/rd/rmdir, "hklm" for reg): short words such as "rd"
    # or "del" alone would run the regex on half of all texts
    Rule("command", "windows", 1.2, ("~:\\", "vssadmin", "bcdedit", "cipher", "hklm", "diskpart", "wbadmin"),
         r"\b(?:del\s+(?:/[fsqa]\s*)+[c-z]:\\|rd\s+/s\s+/q\s+[c-z]:\\|rmdir\s+/s\s+/q\s+[c-z]:\\|"
         r"vssadmin\s+delete\s+shadows|wbadmin\s+delete|bcdedit\s+/set\s+\S+\s+recoveryenabled\s+no|"
         r"cipher\s+/w:|reg\s+delete\s+hklm|diskpart)", 60),
    Rule("command", "sql", 1.0, ("drop", "truncate", "delete"),
         r"\b(?:drop\s+(?:table|database|schema)\s+(?:if\s+exists\s+)?[\w.`\"]+\s*;|truncate\s+table\s+\w+\s*;|"
         r"delete\s+from\s+\w+\s*;|;\s*drop\s+(?:table|database)|'\s*;\s*drop\s)", 80),
    Rule("command", "reverse_shell", 1.2, ("~/bin/sh", "~/bin/bash", "~/dev/tcp", "~>&", "socat"),
         r"\b(?:nc|ncat|netcat)\s+(?:-\w+\s+)*-\w*e\w*\s+/bin/(?:ba)?sh|/dev/tcp/\S+|bash\s+-i\s+>&|"
         r"socat\s+(?:\S+\s+){0,3}\S*exec:", 60),
    Rule("command", "system", 1.0, ("shutdown", "halt", "poweroff", "kill", "killall", "iptables", "setenforce",
                                    "crontab", "history", "systemctl", "~/etc/shadow", "~/etc/passwd", "ufw"),
         r"\b(?:kill\s+-9\s+-1|killall\s+-9\s+\w+|iptables\s+-f|setenforce\s+0|crontab\s+-r|history\s+-c|"
         r"systemctl\s+(?:stop|disable)\s+(?:firewalld|ufw|auditd|sshd)|ufw\s+disable|"
         r"(?:cat|less|more|head|tail|cp|scp|curl|nc)\s+\S*/etc/shadow|>\s*/etc/passwd|shutdown\s+(?:-h\s+|/s\s+)?now)", 60),
    Rule("command", "powershell", 1.0, ("powershell", "pwsh", "iex", "invoke-expression", "encodedcommand"),
         r"\b(?:powershell|pwsh)(?:\.exe)?\s+(?:-\w+\s+)*-(?:enc|encodedcommand|e)\s+[a-z0-9+/=]{16,}|"
         r"\b(?:iex|invoke-expression)\s*\(\s*(?:new-object|\(new-object|\[system\.text)", 60),
    Rule("command", "python_destroy", 1.0, ("shutil", "~os.system"),
         r"\b(?:shutil\.rmtree|os\.system)\(\s*['\"](?:/|~|c:\\|rm -rf /)['\"]?", 40),
    # ------------------------------------------------------------------ safety: unsafe domains
    Rule("unsafe", "weapon_howto", 1.2,
         ("bomb", "bombs", "explosive", "explosives", "ied", "nerve agent", "sarin", "vx", "ricin", "anthrax",
          "mustard gas", "chlorine gas", "napalm", "thermite", "meth", "methamphetamine", "fentanyl", "heroin",
          "cocaine", "crack", "ghost gun", "untraceable gun", "untraceable firearm", "silencer", "suppressor",
          "bioweapon", "bioweapons", "chemical weapon", "chemical weapons", "dirty bomb", "molotov", "pipe bomb",
          "tnt", "c4", "semtex", "detonator", "poison gas", "toxin", "botulinum", "nuclear weapon", "lsd", "mdma",
          "ransomware", "keylogger", "malware", "virus", "botnet", "rootkit", "zero-day exploit", "exploit"),
         r"\b(?:how (?:do (?:i|you|we)|to|can (?:i|you|we|one)|would (?:i|you|one))|steps? (?:to|for)|"
         r"instructions? (?:to|for|on)|recipe (?:for|to)|guide (?:to|for|on)|teach me|tell me how|explain how|"
         r"show me how|tutorial (?:on|for)|procedure (?:for|to)|best way to|easiest way to|help me|i want to|"
         rf"i need to|walk me through){GAP(5)}(?:make|build|synthesi[sz]e|produce|cook|manufacture|assemble|brew|"
         r"create|construct|craft|prepare|extract|weaponi[sz]e|3d[- ]print|write|code|develop|deploy|spread|"
         rf"obtain|acquire|buy|get){GAP(4)}(?:an? |the |some |homemade |my own |working |functional |deadly |"
         r"lethal |untraceable |powerful )?(?:bombs?|explosives?|ied|nerve agents?|sarin|vx|ricin|anthrax|"
         r"mustard gas|chlorine gas|napalm|thermite|meth|methamphetamine|fentanyl|heroin|cocaine|crack|"
         r"ghost guns?|untraceable (?:guns?|firearms?)|silencers?|suppressors?|bioweapons?|chemical weapons?|"
         r"dirty bombs?|molotovs?(?: cocktails?)?|pipe bombs?|tnt|c4|semtex|detonators?|poison gas|toxins?|"
         r"botulinum|nuclear weapons?|lsd|mdma|ransomware|keyloggers?|malware|(?:computer )?virus|botnets?|"
         r"rootkits?|zero-day exploits?|exploits? for)\b"),
    Rule("unsafe", "violence_howto", 1.2, ("kill", "murder", "poison", "kidnap", "strangle", "stab", "shoot",
                                           "assassinate", "torture", "hurt", "harm", "abduct", "stalk"),
         r"\b(?:how (?:do (?:i|you|we)|to|can (?:i|you|we|one)|would (?:i|you|one))|steps? to|best way to|"
         r"easiest way to|help me|i want to|i'm going to|i am going to|teach me (?:how )?to|ways? to|plan to)"
         rf"{GAP(2)}(?:kill|murder|poison|kidnap|strangle|stab|shoot|assassinate|torture|hurt|harm|abduct|stalk)"
         rf"{GAP(1)}(?:my |a |an |the |some |that |this )?(?:someone|somebody|people|person|him|her|them|"
         r"wife|husband|boss|neighbou?r|child|kids?|baby|teacher|girlfriend|boyfriend|coworker|classmates?|"
         r"family|mother|father|mom|dad|brother|sister|president|police|officer|students?|crowd|[a-z]+'s)\b"),
    Rule("unsafe", "evasion", 1.0, ("police", "cops", "law enforcement", "evidence", "body", "fingerprints",
                                    "security cameras"),
         rf"\b(?:hide|dispose of|get rid of|destroy|clean up|wipe){GAP(3)}(?:a |the )?(?:body|corpse|evidence|"
         r"fingerprints|murder weapon|dna)\b|\b(?:evade|avoid|escape|outrun)(?: the)? (?:police|cops|law "
         r"enforcement) after"),
    # ------------------------------------------------------------------ safety: privilege escalation
    Rule("privesc", "escalate", 1.2, ("root", "admin", "administrator", "system", "superuser", "domain admin",
                                      "privileges", "privilege", "rights"),
         r"\b(?:escalat(?:e|ing|ion)|elevat(?:e|ing|ion)|gain(?:ing)?|get(?:ting)?|obtain(?:ing)?|grant(?:ing)? "
         rf"(?:me|myself)|steal(?:ing)?){GAP(3)}(?:root|admin(?:istrator)?|system|superuser|domain admin|"
         r"elevated|full|unauthori[sz]ed) (?:access|privileges?|rights|shell|permissions|account)\b"),
    Rule("privesc", "privesc_term", 0.7, ("privilege escalation", "privesc", "escalate privileges",
                                          "escalating privileges", "root shell", "local root")),
    Rule("privesc", "sudo", 1.0, ("sudo", "~nopasswd", "sudoers", "setuid", "suid"),
         r"\bsudo\s+(?:su\b|-i\b|-s\b|bash\b|/bin/(?:ba)?sh)|nopasswd\s*:\s*all|/etc/sudoers|"
         r"\bchmod\s+(?:[ugo]*\+s|[2467][0-7]{3})\s|\bsetuid\(0\)", 60),
    Rule("privesc", "disable_defense", 1.0, ("firewall", "antivirus", "defender", "selinux", "apparmor", "uac", "edr",
                                             "audit log", "audit logging", "logging", "security software"),
         rf"\b(?:disable|turn off|bypass|kill|deactivate|uninstall|evade|circumvent){GAP(3)}(?:the |windows |"
         r"all )?(?:firewall|antivirus|anti-virus|defender|selinux|apparmor|uac|edr|audit logs?|audit logging|"
         r"security software|security monitoring)\b"),
    Rule("privesc", "unauthorized", 0.7, ("without authorization", "without permission", "unauthorized access",
                                          "without them knowing", "backdoor", "back door"),
         ),
    # ------------------------------------------------------------------ manipulation: phishing / social engineering
    Rule("phishing", "account_threat", 0.6, ("suspended", "locked", "disabled", "compromised", "closed",
                                             "deactivated", "blocked", "expired", "on hold", "terminated", "frozen",
                                             "restricted", "flagged", "hacked", "unusual activity",
                                             "suspicious activity"),
         r"\b(?:account|card|password|access|service|subscription|mailbox|membership|profile|wallet|payment|id)"
         rf"{GAP(3)}(?:suspended|locked|disabled|compromised|closed|deactivated|blocked|expired|on hold|"
         r"terminated|frozen|restricted|flagged|hacked)\b|\b(?:unusual|suspicious|unauthori[sz]ed) "
         r"(?:activity|sign-?in|login|transaction)"),
    Rule("phishing", "credential", 0.8, ("password", "login", "credentials", "pin", "details", "credit card",
                                         "ssn", "social security", "identity", "billing", "bank", "account number",
                                         "card number", "cvv", "otp", "code", "security questions", "information",
                                         "info"),
         r"\b(?:verify|confirm|update|validate|re-?enter|provide|send|reply with|enter|submit|give|share|read me|"
         rf"tell (?:me|us)|text (?:me|us)|need|require){GAP(5)}(?:password|login|credentials|pin|account details|"
         r"bank details|banking details|card (?:number|details)|credit card|debit card|ssn|social security|"
         r"identity|billing (?:info|information|details|address)|account (?:number|information|info)|cvv|"
         r"otp|one[- ]time (?:code|password)|verification code|security (?:code|questions)|personal "
         r"(?:information|details|info)|payment (?:details|information|info))\b"),
    Rule("phishing", "credential", 1.0, ("password", "passcode", "login", "credentials", "pin", "otp", "code", "ssn",
                                         "social security", "card number", "cvv", "bank", "banking", "account",
                                         "identity", "deposit", "username", "remote access", "access"),
         r"\b(?:verify|confirm|update|re-?enter|provide|send|reply with|submit|give|share|read me|tell (?:me|us)|"
         rf"what(?:'s| is)|text (?:me|us)|enter|need){GAP(1)}your(?:[^\w']+[\w']+){{0,4}}?[^\w']+(?:password|"
         r"passcode|login|credentials|pin|otp|(?:verification |security |2fa |one[- ]time )?code|ssn|social "
         r"security(?: number)?|card (?:number|details)|cvv|bank(?:ing)? (?:details|info|information|account|"
         r"username|login)|account|identity|direct deposit|username)\b|\b(?:give|grant) (?:us|me) remote access|"
         r"\b(?:install|download) (?:teamviewer|anydesk|the remote|this remote)|\b(?:direct deposit|bank(?:ing)?|"
         r"payroll|login|password) (?:info|details|information|credentials)? ?(?:re-?entered|updated|confirmed|"
         r"verified) (?:on|at|via|through|using) (?:this|the|our) (?:form|link|page|portal|site)"),
    Rule("phishing", "account_threat", 0.6, ("infected", "virus", "package", "parcel", "delivery", "shipment"),
         r"\b(?:your )?(?:pc|computer|device|phone|laptop|mac) (?:is|has been|was|may be) (?:infected|hacked|"
         r"compromised|at risk)|\b(?:package|parcel|delivery|shipment)(?: is| was| has been)? (?:held|on hold|"
         r"pending|suspended|undeliverable|failed|stopped|waiting)\b"),
    Rule("phishing", "lookalike_domain", 0.5, ("~.info", "~.xyz", "~.top", "~.support", "~.online", "~.site", "~.click",
                                               "~.link", "~.live", "~.help", "~.services", "~.security", "~.verify",
                                               "~.login", "~.account", "~.co", "~.com", "~.net", "~.org"),
         r"\b[a-z0-9]+(?:-[a-z0-9]+)+\.(?:info|xyz|top|support|online|site|click|link|live|help|services|"
         r"security|verify|login|account|co|com|net|org)\b", 40),
    Rule("phishing", "payment", 0.6, ("gift card", "gift cards", "itunes", "bitcoin", "western union", "moneygram",
                                      "crypto"),
         r"\b(?:in|with|via|using|as|by) (?:\w+ )?(?:gift ?cards?|itunes cards?|bitcoin|btc|western union|"
         r"moneygram|crypto(?:currency)?)\b", 40),
    Rule("phishing", "bec", 0.5, ("new supplier", "new vendor", "new account", "new bank", "changed", "updated"),
         r"\b(?:to|into) (?:the|our|a|this) new (?:supplier|vendor|bank|beneficiary) account|\b(?:bank|account|"
         r"payment) details (?:have )?(?:changed|been updated)\b|\bapproved (?:it|this|the transfer) by phone"),
    Rule("phishing", "click", 0.4, ("click", "tap", "follow", "visit", "log in", "login", "sign in"),
         rf"\b(?:click|tap|follow|visit|open|log ?in|sign ?in|go to){GAP(2)}(?:here|the link|this link|link "
         r"below|below|now|the (?:url|website|portal|attachment)|our (?:website|portal|site)|www\.|https?:)"),
    Rule("phishing", "link", 0.3, ("http", "https", "www", "bit.ly", "tinyurl", "~.ly/", "~.com/", "~.net/"),
         r"https?://|www\.|bit\.ly|tinyurl|\.\w{2,3}/\w", 20),
    Rule("phishing", "urgency", 0.3, ("urgent", "urgently", "immediately", "act now", "asap", "within 24 hours",
                                      "within 48 hours", "final notice", "final warning", "last chance",
                                      "limited time", "expires today", "expire today", "right away",
                                      "as soon as possible", "time sensitive", "time-sensitive", "don't delay",
                                      "do not delay", "today only", "ends tonight", "hurry", "final attempt",
                                      "last warning", "now!", "immediate action", "action required")),
    Rule("phishing", "prize", 0.5, ("congratulations", "congrats", "you have won", "you've won", "you won",
                                    "winner", "prize", "claim your", "claim ur", "claim now", "to claim",
                                    "free entry", "free ringtone", "free ringtones", "free cash", "free iphone",
                                    "free vacation", "been selected", "guaranteed", "awarded", "cash prize", "jackpot",
                                    "lottery", "won a", "selected to receive")),
    Rule("phishing", "freebie", 0.3, ("free", "win", "bonus", "voucher", "vouchers", "gift card", "giftcard", "reward",
                                      "rewards", "free gift", "offer", "discount", "unsubscribe", "opt out", "opt-out")),
    Rule("phishing", "prize_strong", 0.6, ("claim", "won", "winner", "prize", "award", "awarded", "selected"),
         r"\b(?:you(?:'ve| have)? (?:won|been (?:selected|chosen|awarded))|claim (?:your|ur|the|a|now|it)|"
         r"(?:won|win) (?:a |an |the )?(?:£|\$|€|cash|prize|guaranteed|\d)|(?:prize|award|reward) (?:of|worth) "
         r"|guaranteed (?:£|\$|€|cash|prize|\d))"),
    Rule("phishing", "money", 0.2, ("£", "$", "€", "cash", "pounds", "dollars", "usd", "gbp", "ppm", "150p",
                                    "per min", "/min", "p/min", "per msg", "p/msg", "pmsg"),
         r"[£$€]\s?\d|\b\d[\d,.]*\s?(?:cash|pounds|dollars|usd|gbp|p(?:/| per )(?:min|msg|text|wk))\b|"
         r"\bper (?:min|msg|text|minute)\b|\b\d+p\b|\bppm\b", 30),
    Rule("phishing", "cta", 0.4, ("call", "text", "txt", "reply", "send", "dial", "ring"),
         r"\b(?:call|text|txt|reply|send|dial|ring)\b(?:\s+\w+){0,2}\s+(?:now|(?:on |to )?\+?0?\d{4,}|stop|yes|win|"
         r"claim|free|help)\b", 40),
    Rule("phishing", "payment", 0.6, ("gift card", "gift cards", "itunes cards", "wire transfer", "western union",
                                      "moneygram", "bitcoin", "btc", "crypto", "processing fee", "release fee",
                                      "customs fee", "transfer fee", "upfront fee", "small fee"),
         rf"\b(?:pay|send|buy|purchase|transfer|wire|deposit|load|cover)(?:{GAP(4)}|\s+)(?:gift ?cards?|itunes cards?|"
         r"wire transfer|western union|moneygram|bitcoin|btc|crypto|processing fee|release fee|customs fee|"
         r"transfer fee|upfront fee|small fee|the fee)\b"),
    Rule("phishing", "authority", 0.4, ("irs", "hmrc", "paypal", "microsoft", "apple", "amazon", "bank", "fedex",
                                        "dhl", "ups", "netflix", "tech support", "customer service", "fraud department",
                                        "security team", "it department", "helpdesk", "help desk", "support team"),
         r"\b(?:this is|from|calling from|on behalf of|message from|notice from|dear) (?:the |your )?"
         r"(?:irs|hmrc|paypal|microsoft|apple|amazon|bank|fedex|dhl|ups|netflix|tech support|customer service|"
         r"fraud department|security team|it department|helpdesk|help desk|support team|\w+ bank)\b"),
    Rule("phishing", "dear_customer", 0.3, ("dear customer", "dear user", "dear account holder", "dear member",
                                            "valued customer", "dear client")),
    Rule("phishing", "pretext", 1.0, ("code", "otp", "password", "pin", "verification"),
         rf"\b(?:read|tell|send|give|forward|share)(?: it)?(?: back)?(?: to)? (?:me|us)(?: back)?{GAP(3)}"
         r"(?:[\w]+ )?"
         r"(?:code|otp|pin|password|verification code)\b|\b(?:code|otp|pin|password)(?: (?:we|i))? (?:just )?sent "
         r"(?:to )?you\b"),
    Rule("phishing", "secrecy", 0.5, ("don't tell anyone", "do not tell anyone", "keep this between us",
                                    "keep this a secret", "keep it a secret", "keep this secret", "don't tell your",
                                    "tell no one", "our little secret", "keep this confidential", "keep it quiet",
                                    "keep this quiet", "don't tell mom", "don't tell dad", "don't tell the police",
                                    "do not tell your")),
    Rule("phishing", "impersonate_boss", 0.6, ("ceo", "boss", "manager", "director", "cfo"),
         r"\b(?:i am|i'm|this is) (?:your |the )?(?:ceo|boss|manager|director|cfo)\b"),
    Rule("phishing", "transfer_request", 0.6, ("wire", "transfer", "payment", "gift cards"),
         rf"\b(?:wire|transfer|send|buy)(?:{GAP(3)}|\s+)(?:the )?(?:money|funds|payment|\$\d|£\d|€\d|gift cards)"
         r"[^.]{0,60}(?:urgently|immediately|today|right away|before|quietly|discreetly)"),
    Rule("leverage", "guilt", 0.8, ("loved me", "cared about me", "trusted me", "love me", "care about me",
                                    "done for you", "you owe me", "after everything", "after all i"),
         r"\bif you (?:really |truly |actually )?(?:loved|cared about|trusted|love|care about|respected) me\b|"
         r"\bafter (?:all|everything) (?:i(?:'ve| have)|we(?:'ve| have)) (?:done|sacrificed|given)|\byou owe me\b"),
    Rule("leverage", "fear", 0.8, ("regret", "suffer", "pay for this", "sorry", "something happens", "get hurt"),
         r"\b(?:you(?:'ll| will) (?:regret|be sorry|pay for)|(?:your|the) (?:family|kids|children|mother|parents)"
         r" (?:will|could|might) (?:suffer|get hurt|be hurt|pay|find out)|if something (?:bad )?happens to)"),
    Rule("leverage", "only_you", 0.6, ("only you", "nobody but you", "no one but you"),
         r"\b(?:only you|nobody but you|no one but you|no one else) (?:can|could) (?:help|save|stop)\b"),
    # ------------------------------------------------------------------ toxic
    Rule("hate", "slur", 1.2, ("nigger", "niggers", "nigger*", "faggot", "faggots", "fag", "fags", "faggot*",
                               "dyke", "dykes", "tranny", "trannies", "spic", "spics", "kike", "kikes", "wetback",
                               "wetbacks", "beaner", "beaners", "towelhead", "towelheads",
                               "raghead", "ragheads", "sandnigger", "chinaman", "porch monkey", "jungle bunny",
                               "zipperhead", "mongoloid", "kyke", "darkie", "darkies",
                               "sand nigger", "camel jockey", "golliwog", "shemale", "heeb", "yid")),
    # slurs that are also the name of an animal or part of a word: not in their innocent sense
    Rule("hate", "slur", 1.2, ("coon", "coons"),
         unless=r"\bcoon ?(?:hounds?|dogs?|hunt\w*|skins?|cats?|tails?)\b|\b(?:squirrels?|possums?|opossums?|deer|"
                r"rabbits?|foxe?s?|skunks?|hunting|trapping|traps?)\b[^.]{0,24}\bcoons?\b|\bcoons?\b[^.]{0,24}\b"
                r"(?:squirrels?|possums?|opossums?|deer|rabbits?|foxe?s?|skunks?|hunting|trapping|traps?)\b"),
    Rule("hate", "slur", 1.2, ("gook", "gooks"), unless=r"gobbledy[- ]?gook"),
    Rule("hate", "dehumanize", 1.2, _GROUP_ANCHORS + ("followers", "kind"),
         rf"\b(?:all |those |these |the |fucking |damn |most |every )?(?:{_GROUPS}|those people|these people|"
         rf"you people|their kind|your kind|its followers|their followers){GAP(1)}(?:are|r|is|should be)"
         r"(?: all| just| nothing but| like| a bunch of)?(?:\s+[\w']+){0,2}? (?:animals|vermin|subhuman|"
         r"parasites|cockroaches|rats|savages|scum|trash|a plague|a disease|monkeys|apes|filth|dogs|pigs|"
         r"inferior|disgusting|worthless|useless|filthy|degenerates?|freaks|abominations?|criminals|"
         r"too (?:dumb|stupid))\b"),
    Rule("hate", "conspiracy", 1.2, _GROUP_ANCHORS,
         rf"\b{_GROUPS} (?:control|run|own|secretly (?:control|run)|are taking over|are replacing|are invading)"
         r"(?: all| the)? (?:everything|the world|the media|the banks|the government|hollywood|our country|us)\b|"
         rf"\b{_GROUPS}{GAP(3)}must be (?:stopped|eliminated|removed|destroyed|exterminated|wiped out)\b"),
    Rule("hate", "xenophobia", 0.6, ("go back to", "where you came from"),
         r"\bgo back to (?:your (?:own )?country|where you (?:came|come) from|africa|mexico|china|india)"),
    Rule("hate", "eliminate", 1.2, _GROUP_ANCHORS,
         rf"\b(?:kill|gas|exterminate|deport|eradicate|wipe out|get rid of|hang|lynch|shoot|burn|ban){GAP(1)}"
         rf"(?:all |the |every |those )?{_GROUPS}\b"),
    Rule("insult", "directed", 1.2, ("idiot", "idiots", "moron", "morons", "stupid", "dumb", "retard", "retarded",
                                     "loser", "pathetic", "worthless", "useless", "imbecile", "piece of shit",
                                     "piece of crap", "piece of garbage", "scum", "trash", "ugly", "fat", "disgusting",
                                     "bitch", "cunt", "dick", "asshole", "whore", "slut", "hoe", "dumbass", "jackass",
                                     "waste of space", "waste of oxygen", "failure", "clown", "cretin", "brainless",
                                     "ignorant", "freak", "garbage", "pig", "creep", "twat", "prick", "wanker", "filthy",
                                     "dumbest", "stupidest", "ugliest", "lowlife", "degenerate", "foreigner", "parasite",
                                     "vermin", "subhuman"),
         WORD_START("you(?:'re| are| r|re)?", "u(?: r| are)?", "ur", "youre", "shut up", "such an?", "what an?") +
         r"\b(?:[^\w']+[\w']+){0,3}?"
         r"[^\w']+(?:an? |such an? |so |fucking |complete |total |little |big |stupid |dumb |ugly |fat )?"
         r"(?:idiots?|morons?|stupid|dumb|retard(?:ed)?|losers?|pathetic|worthless|useless|imbeciles?|"
         r"piece of (?:shit|crap|garbage)|scum|trash(?! (?:cans?|talk\w*|bags?|bins?|day|trucks?|pickup|collection))|ugly|disgusting|bitch|cunt|dick|asshole|whore|slut|hoe|"
         r"dumbass|jackass|waste of (?:space|oxygen)|failure|clown|cretin|brainless|freak|garbage|pig|creep|twat|"
         r"prick|wanker|the (?:dumbest|stupidest|ugliest|worst)|filthy \w+|lowlife|degenerate|parasite|vermin|"
         r"subhuman)\b"),
    Rule("insult", "dismiss", 0.6, ("shut up", "nobody wants you", "nobody likes you", "no one likes you",
                                    "no one wants you", "nobody cares about you", "get lost", "go away", "stfu",
                                    "nobody loves you", "no one loves you")),
    Rule("insult", "insult_word", 0.5, ("idiot", "moron", "imbecile", "dumbass", "jackass", "cretin", "retard",
                                        "loser", "scumbag")),
    Rule("threat", "self_harm_incite", 1.2, ("kill yourself", "kys", "hang yourself", "go die", "drink bleach",
                                             "slit your wrists", "end yourself", "neck yourself", "unalive yourself")),
    Rule("threat", "violent_threat", 1.2, ("kill you", "hurt you", "find you", "beat you", "shoot you", "stab you",
                                           "murder you", "end you", "rape you", "burn your house", "i will", "i'll",
                                           "gonna", "going to", "we will", "we'll"),
         r"\b(?:i(?:'ll| will| am going to|'m going to|'m gonna| gonna)|we(?:'ll| will| are going to)|gonna) "
         r"(?:\w+ )?(?:kill|hurt|beat|shoot|stab|murder|rape|strangle|torture) (?:you|u|ya|your)\b|"
         r"\b(?:i(?:'ll| will| am going to|'m going to|'m gonna)|we(?:'ll| will)) (?:find (?:out )?where you "
         r"live|make you (?:suffer|pay|bleed|regret)|end you|burn (?:your|down your) house)"),
    Rule("threat", "wish_harm", 1.2, ("hope you", "wish you", "you deserve to"),
         r"\b(?:i )?(?:hope|wish) (?:you|u) (?:\w+ )?(?:die|get (?:raped|killed|hit|cancer|hurt)|burn|rot|suffer|"
         r"choke|drown)|\byou deserve to (?:die|be (?:raped|killed|shot|hurt)|suffer|rot)\b"),
    Rule("profanity", "profanity", 1.0, ("fuck", "fuck*", "motherfucker", "motherfuckers", "mf", "shit", "shits",
                                         "shitty", "bullshit", "bitch", "bitches", "bitchy", "bitchin", "biatch",
                                         "hoe", "hoes", "hoez", "dick", "dicks", "cock", "cocks",
                                         "cunt", "cunts", "twat", "ass", "asses", "asshole", "assholes", "arse",
                                         "bastard", "bastards", "whore", "whores", "slut", "sluts", "skank", "thot",
                                         "thots", "wtf", "stfu", "dumbass", "jackass", "douche", "douchebag", "prick",
                                         "wanker", "bollocks", "tits", "titties", "nigga", "niggas", "nigguh", "niggah",
                                         "niggaz", "retard", "retards", "retarded", "hoeing", "slutty", "damnit",
                                         "goddamn", "cuck", "jizz", "dickhead", "shithead", "fag", "hoochie",
                                         "bitchass", "pussyass", "fucc", "phuck", "azz", "biotch", "beyotch")),
    Rule("profanity", "profanity", 1.0, ("pussy", "pussies"), unless=r"\bpuss(?:y|ies) ?(?:cats?|willows?)\b"),
    # ------------------------------------------------------------------ ethical
    Rule("selfharm", "method", 1.2, ("die", "kill myself", "suicide", "end my life", "end it all", "overdose",
                                     "cut myself", "hang myself"),
         r"\b(?:best|easiest|quickest|painless|fastest|surest|most effective|how) (?:way|ways|method|methods|to)"
         rf"{GAP(2)}(?:die|kill myself|commit suicide|end my life|end it all|overdose|cut myself|hang myself)\b|"
         r"\bhow (?:many|much)\b[^.?]{0,40}\b(?:to (?:overdose|die)|lethal dose|would kill me)"),
    Rule("selfharm", "encourage", 1.2, ("do it", "kill yourself", "better off dead", "deserve to die",
                                        "world would be better"),
         r"\b(?:you(?:'d| would) be better off dead|you deserve to die|the world would be better without you|"
         r"you should (?:just )?(?:kill|hurt|cut|starve) yourself)\b"),
    Rule("harm", "harm_instruction", 1.2, ("hurt", "harm", "abuse", "manipulate", "groom", "blackmail", "bully",
                                           "humiliate", "stalk", "dox", "doxx", "harass", "intimidate", "spy on"),
         r"\b(?:how (?:to|do i|can i)|ways? to|help me|tips (?:on|for)|teach me (?:how )?to|best way to)"
         rf"{GAP(1)}(?:secretly |emotionally |physically |psychologically )?(?:abuse|groom|blackmail|bully|"
         r"humiliate|stalk|dox+|harass|intimidate|spy on|gaslight|isolate|track|hurt|harm)"
         rf"{GAP(1)}(?:my |a |an |the |someone|somebody|people|him|her|them|child|kids?|wife|husband|partner|"
         r"girlfriend|boyfriend|ex|coworker|classmate|employee|elderly|\w+'s)"),
    Rule("harm", "cheat_fraud", 1.0, ("fake", "forge", "counterfeit", "launder", "evade", "plagiarize",
                                      "steal", "shoplift"),
         rf"\b(?:how (?:to|do i|can i)|help me|ways? to|teach me (?:how )?to|best way to){GAP(1)}"
         r"(?:forge|counterfeit|launder|evade|plagiari[sz]e|steal|shoplift|fake|falsify|embezzle|scam|defraud|"
         rf"cheat on)(?:{GAP(3)}|\s+)(?:documents?|signatures?|money|taxes|passports?|ids?|identity|identities|"
         r"prescriptions?|an? (?:essay|exam|test)|from|my|someone|people|insurance|elderly|the irs|"
         r"credit cards?|cash|a (?:store|shop)|receipts?|diplomas?|degrees?|reviews?)\b"),
    Rule("bias", "stereotype", 1.2, _GROUP_ANCHORS,
         rf"\b(?:all |most |every |typical |those |these )?{_GROUPS}{GAP(1)}(?:are|r|is)(?: all| just| naturally| "
         rf"inherently| always| genetically| simply| obviously| basically)? {_NEG_TRAITS}\b"),
    Rule("bias", "stereotype_can", 1.2, _GROUP_ANCHORS,
         rf"\b{_GROUPS} (?:can(?:'t|not)|shouldn't|should not|should never|don't deserve to|do not deserve to|"
         r"aren't (?:capable of|smart enough to|able to)) (?:be trusted|lead|vote|drive|work|think|do (?:math|"
         r"science)|be (?:leaders|engineers|doctors|scientists|managers|in charge)|have rights|own property|"
         rf"be educated|hold office)\b|\b{_GROUPS} (?:should(?:n't| not| never)|must not|mustn't) be allowed to "
         r"(?:have (?:kids|children)|vote|marry|work|live here|immigrate|drive|teach|adopt|serve)\b"),
    Rule("discrimination", "exclude", 1.2, ("hire", "hiring", "rent", "renting", "promote", "admit", "serve",
                                            "accept", "employ", "interview", "lend", "approve", "insure"),
         r"\b(?:don't|do not|never|refuse to|won't|will not|shouldn't|should not|avoid|stop|not) "
         r"(?:hire|hiring|rent(?:ing)? to|promote|promoting|admit|admitting|serve|serving|accept|accepting|employ|"
         rf"interview|lend to|approve|insure)(?: any)? (?:{_GROUPS}|(?:people|applicants|candidates|workers|"
         r"tenants) (?:over \d+|who are (?:black|gay|muslim|jewish|pregnant|disabled|old|female|foreign|"
         r"immigrants))|older (?:people|applicants|workers|candidates)|pregnant women|anyone (?:over \d+|"
         r"with (?:an accent|a disability|a foreign name)))\b"),
    Rule("discrimination", "only", 1.2, ("hire", "rent", "accept", "admit", "promote", "employ", "serve"),
         r"\b(?:only|prefer to|we prefer to|exclusively) (?:hire|rent to|accept|admit|promote|employ|serve|"
         r"interview) (?:white|young|male|christian|native(?:-born)?|straight|able-bodied|american-born|"
         r"men|whites|europeans)\b"),
    Rule("discrimination", "protected_basis", 1.2, ("race", "gender", "sex", "religion", "ethnicity", "age",
                                                    "disability", "sexual orientation", "national origin",
                                                    "pregnancy", "skin color", "skin colour", "accent", "surname",
                                                    "zip code"),
         r"\b(?:reject|deny|denied|exclude|filter out|screen out|penali[sz]e|rank (?:them )?lower|downgrade|"
         rf"disqualify|fire|refuse|discriminate against|charge (?:them )?more|score (?:them )?lower){GAP(5)}"
         r"(?:because of|based on|due to|on the basis of|for) (?:their |his |her |the )?(?:race|gender|sex|"
         r"religion|ethnicity|age|disability|sexual orientation|national origin|pregnancy|skin colou?r|"
         r"accent|surname|zip code)\b"),
    # ------------------------------------------------------------------ dark patterns
    Rule("nlp", "presupposition", 1.0, ("want", "need", "agree", "buy", "decide"),
         r"\byou (?:already )?know (?:deep down )?(?:that )?you (?:want|need|agree)|\b(?:when|once|after) you "
         r"(?:buy|sign up|subscribe|join|commit|say yes|agree)\b[^.]{0,60}\byou(?:'ll| will) (?:realize|feel|"
         r"wonder why|see)|\b(?:the more you|as you) (?:read|listen|relax|think about)[^.]{0,60}\b(?:the more|"
         r"you(?:'ll| will)|you (?:begin|start)) (?:to )?(?:realize|feel|want|agree|understand|need)"),
    Rule("nlp", "embedded_command", 0.8, ("relaxed", "compliant", "agreeable", "obey", "trance", "sleepy",
                                          "hypnotized", "deeper"),
         r"\b(?:you are|you're|you feel|you are now|you're now|and now you(?:'re| are)) (?:feeling |becoming "
         r"|getting )?(?:more |very |so |deeper )?(?:relaxed|compliant|agreeable|open to|obedient|sleepy|"
         r"hypnoti[sz]ed|in a trance)\b|\b(?:obey|comply|agree)(?:,)? (?:now|without thinking)"),
    Rule("nlp", "dont_think", 1.0, ("price", "cost", "details", "fine print", "terms", "think twice", "read"),
         r"\b(?:don't|do not|no need to|never) (?:think about|worry about|bother (?:reading|with)|read|look at|"
         r"think twice about)(?: the)? (?:price|cost|details|fine print|terms|contract|small print)\b"),
    Rule("nlp", "false_scarcity", 0.6, ("left", "remaining", "only", "expires", "spots", "seats"),
         r"\bonly \d+ (?:left|spots?|seats?|items?|copies) (?:left|remaining)?|\b\d+ (?:other )?people are "
         r"(?:looking at|viewing|watching) this|\boffer (?:expires|ends) in \d+ (?:minutes|seconds)\b"),
    Rule("nlp", "social_proof", 0.4, ("everyone", "everybody", "all your friends"),
         r"\b(?:everyone|everybody|all your friends) (?:else )?(?:has|have|is|are) already (?:signed up|bought|"
         r"joined|agreed|upgraded|subscribed)\b"),
    Rule("confirmshaming", "shame", 1.0, ("no thanks", "no, i", "no i"),
         r"\bno,? (?:thanks|thank you)?,? ?i (?:don't|do not) (?:want|like|care about|need) (?:to )?(?:save|"
         r"saving|money|my health|being|success|smart|protect|discounts?|free|better|to learn|improve)|"
         r"\bno,? i(?:'d| would) rather (?:pay (?:full|more)|stay (?:poor|ignorant|unhealthy)|lose)"),
    Rule("empathy", "turn", 1.0, ("feel", "going through", "hurting", "struggling", "lonely", "scared", "pain",
                                  "understand"),
         r"\bi (?:understand|know|hear|feel|see|get) (?:how|what|that|exactly how)(?: \w+)? (?:you(?:'re| are)?|much you)"
         r"[^.]{0,60}(?:feel|going through|hurting|struggling|lonely|scared|suffering|in pain)"
         r"[^.]{0,40}(?:so|which is why|that's why|that is why|and that's why|but|therefore)[^.]{0,20}"
         r"\byou (?:should|must|need to|have to|owe|can't say no|will)\b"),
    Rule("empathy", "care_demand", 0.8, ("care", "cared", "love", "only doing this"),
         r"\bif you (?:really |truly )?(?:cared?|love) about (?:me|them|your \w+)[^.]{0,20}you(?:'d| would| "
         r"will) (?:buy|pay|sign|donate|do|give|send|stay|agree)|\bi(?:'m| am) (?:only|just) (?:doing|saying) "
         r"this because i (?:care|love you)[^.]{0,60}(?:so|now) (?:you|give|send|pay|sign)"),
    Rule("empathy", "exploit_grief", 0.8, ("grief", "loss", "lonely", "vulnerable", "sad"),
         rf"\b(?:target|exploit|use|prey on|take advantage of)(?:{GAP(2)}|\s+)(?:their|his|her|the|people's|"
         r"users'?|customers'?) (?:grief|loneliness|vulnerability|sadness|insecurit(?:y|ies)|fears?|emotions|"
         r"trauma|depression)\b"),
    Rule("dependency", "need_me", 1.2, ("need", "anyone", "anybody", "without me"),
         r"\byou (?:don't|do not|won't|will never|never) need (?:anyone|anybody|your (?:friends|family|therapist|"
         r"doctor|parents)|other people)(?: else)?(?: (?:but|except|other than|besides|as long as you have|when "
         r"you have) me)\b|\b(?:you can't|you cannot|you'll never|you will never|you won't) (?:do|make it|"
         r"survive|cope|manage|function|be happy|decide)\b[^.]{0,30}\bwithout me\b"),
    Rule("dependency", "only_i", 1.2, ("only one", "only i", "nobody but me", "no one but me", "only me"),
         r"\b(?:only (?:i|me)|nobody but me|no one but me|no one else|i(?:'m| am) the only one (?:who|that))"
         r" (?:can |could |will |truly |really )?(?:understands?|helps?|loves?|protects?|saves?|cares? "
         r"about|gets?) you\b"),
    Rule("dependency", "isolate", 1.2, ("friends", "family", "parents", "therapist", "others", "anyone else"),
         r"\b(?:don't|do not|stop|never|quit) (?:talk(?:ing)?|listen(?:ing)?|go(?:ing)?|trust(?:ing)?|"
         r"spend(?:ing)? time|see(?:ing)?)(?: to| with)? (?:your )?(?:friends|family|parents|therapist|doctor|"
         r"others|anyone else|other people)\b[^.]{0,40}|\b(?:they|your (?:friends|family|parents)) (?:don't|"
         r"do not|never) (?:really )?(?:care about|understand|love) you (?:like|the way) (?:i|me) do\b"),
    Rule("dependency", "come_back", 0.6, ("come back", "talk to me", "check in", "need me"),
         r"\b(?:come back to me|talk to me|check in with me) (?:every (?:day|hour|morning|night)|whenever|before "
         r"(?:you|making|deciding))|\byou need me\b"),
    # ------------------------------------------------------------------ cognitive warfare
    Rule("distortion", "gaslight", 1.2, ("never happened", "imagining", "making it up", "remembering", "memory",
                                         "trust", "crazy", "eyes"),
         r"\b(?:that|it|this|the \w+) never (?:happened|occurred|took place)\b|\byou(?:'re| are) (?:just )?"
         r"(?:imagining (?:things|it)|making (?:it|this|things) up|remembering (?:it |things )?wrong|"
         r"misremembering)\b|\b(?:your|ur) (?:memory|mind|eyes|senses) (?:is|are) (?:playing tricks|lying|"
         r"deceiving|wrong|failing|unreliable)\b|\b(?:don't|do not|never|can't|cannot) trust (?:your|ur) "
         r"(?:own )?(?:eyes|memory|senses|judge?ment|mind|instincts|perception)\b"),
    Rule("distortion", "everything_lie", 1.0, ("lie", "lies", "fake", "hoax", "staged"),
         r"\b(?:everything|all)(?: that)? you(?:'ve| have)? (?:been told|heard|seen|learned|read|know)[^.]{0,30}"
         r"(?:is|was|are) (?:a )?(?:lie|lies|fake|hoax|staged|fabricated|false)\b|\bthe (?:truth|facts) "
         r"(?:is|are) (?:whatever|what) (?:we|i|they) say\b|\breality is (?:whatever|what) (?:we|i|they) "
         r"(?:say|decide)"),
    Rule("distortion", "hoax", 1.0, ("hoax", "staged", "fake", "fabricated", "false flag", "never happened"),
         r"\bthe (?:moon landing|holocaust|pandemic|election|massacre|shooting|war|genocide|vaccine rollout|"
         r"attack|bombing|earthquake|climate crisis) (?:was|is|were) (?:a |an |completely |totally |all )?"
         r"(?:hoax|staged|fake|fabricated|false flag|inside job|never happened|made up)\b"),
    Rule("distortion", "they_hide", 0.6, ("want you to know", "they don't want", "hiding the truth",
                                          "wake up", "sheeple", "open your eyes", "media is lying",
                                          "media are lying", "do your own research"),
         ),
    Rule("psyops", "undermine", 1.2, ("believe you", "crazy", "insane", "losing your mind", "paranoid",
                                      "too sensitive", "overreacting", "hysterical"),
         r"\b(?:no one|nobody) (?:will|would) (?:ever )?believe you\b|\byou(?:'re| are) (?:going |just |so )?"
         r"(?:crazy|insane|losing your mind|paranoid|too sensitive|overreacting|hysterical|delusional)\b"
         r"[^.]{0,40}\b(?:no one|nobody|everyone|everybody) (?:knows|thinks|agrees|says|will|believes)"),
    Rule("psyops", "undermine_weak", 0.6, ("losing your mind", "you're paranoid", "you are paranoid",
                                           "you're delusional", "you are delusional", "you're overreacting",
                                           "no one will believe you", "nobody will believe you")),
    Rule("psyops", "helpless", 0.6, ("no choice", "resistance is futile", "too late", "no way out", "give up"),
         r"\b(?:you have no (?:choice|way out|other option)|resistance is (?:futile|pointless)|it(?:'s| is) "
         r"(?:already )?too late (?:to|for you)|you (?:might as well|should just) give up)\b"),
    Rule("psyops", "fear_campaign", 0.8, ("panic", "fear", "terrify", "scare", "demoralize", "demoralise", "divide",
                                          "polarize", "sow"),
         rf"\b(?:sow|spread|create|stoke|maximi[sz]e|exploit|incite)(?:{GAP(2)}|\s+)(?:panic|fear|distrust|"
         r"division|discord|chaos|confusion|hatred|outrage)\b[^.]{0,60}\b(?:among|in|across|between) "
         r"(?:the )?(?:population|public|voters|citizens|people|community|communities|groups)\b|"
         r"\b(?:demorali[sz]e|polari[sz]e|radicali[sz]e|brainwash) (?:the )?(?:population|public|voters|citizens|"
         r"people|enemy|youth|masses|followers)\b"),
    Rule("disinfo", "fabricate", 1.2, ("fake", "false", "fabricated", "made-up", "made up", "misleading"),
         r"\b(?:create|generate|write|make|produce|fabricate|invent|post|publish|draft)(?: me)?(?: \d+| some| a|"
         r" an| many| hundreds of| thousands of| dozens of)?(?: convincing| realistic| believable| viral)? "
         r"(?:fake|false|fabricated|made-up|made up|misleading|bogus) (?:news|stories|story|articles?|reviews?|"
         r"accounts?|evidence|testimonials?|quotes?|headlines?|posts|tweets|statistics|studies|documents?|"
         r"screenshots?|photos?|videos?|profiles?|personas?)\b"),
    Rule("disinfo", "amplify", 1.0, ("deleted", "censored", "removed", "banned", "bots", "sock puppet",
                                     "sockpuppet", "astroturf", "flood"),
         r"\b(?:share|spread|repost|retweet|forward)(?: this| these| it)?[^.]{0,40}\bbefore (?:they|it|this) "
         r"(?:gets?|is) (?:deleted|censored|removed|banned|taken down)\b|\b(?:flood|bombard|saturate|spam)"
         rf"(?:{GAP(2)}|\s+)(?:feeds?|timelines?|social media|comments|hashtags?|forums?)\b[^.]{{0,40}}\b(?:fake|"
         r"false|misleading|propaganda|disinformation|lies)\b|\b(?:sock ?puppet|astroturf(?:ing)?|bot) "
         r"(?:accounts?|network|army|campaign)\b"),
    # ------------------------------------------------------------------ model extraction (single query)
    Rule("probing", "internals", 1.2, ("logits", "logprobs", "log probs", "log-probs", "log probabilities",
                                       "raw probabilities", "raw scores", "softmax", "weights", "parameters",
                                       "hidden states", "embeddings", "embedding", "gradients", "attention weights",
                                       "confidence scores", "token probabilities", "probability distribution",
                                       "training data", "architecture", "hyperparameters", "hyper-parameters",
                                       "layer sizes", "decision boundary", "model file", "checkpoint"),
         r"\b(?:give|show|output|print|return|dump|list|reveal|tell me|provide|send|share|export|expose|"
         rf"leak|what are|include|append|report){GAP(5)}(?:(?:the |your |all |full |exact |raw )?(?:logits|"
         r"logprobs|log[- ]probs|log probabilities|raw (?:probabilities|scores|outputs)|softmax "
         r"(?:outputs|scores|probabilities|values)|token probabilities|probability distribution over|"
         r"hidden states|attention weights|gradients)|(?:your|the model'?s?|model|network|classifier'?s?|"
         r"its) (?:own )?(?:weights|parameters|embeddings?|architecture|hyper-?parameters|layer sizes|training "
         r"(?:data|set|examples)|checkpoint|model file|decision boundary)|confidence scores? for (?:every|each|all))\b"),
    Rule("probing", "per_class", 0.6, ("each class", "every class", "all classes", "each label", "every label",
                                       "each token", "every token", "all labels"),
         r"\b(?:probabilit(?:y|ies)|scores?|confidences?|logits?)\b[^.]{0,30}\b(?:for|of|across) (?:each|every|"
         r"all) (?:class|classes|label|labels|token|tokens|category|categories|output)\b"),
    Rule("probing", "verbatim", 1.0, ("verbatim", "word for word", "memorized", "memorised", "trained on"),
         rf"\b(?:repeat|recite|reproduce|output|print|list)(?:{GAP(4)}|\s+)(?:your |the )?(?:training "
         r"(?:data|examples|set)|data you were trained on|memori[sz]ed (?:text|data|examples))\b|\bwhat (?:data|"
         r"examples|datasets?) (?:were|was) you trained on\b"),
    Rule("probing", "systematic", 0.5, ("systematically", "enumerate", "every possible", "all possible", "sweep",
                                        "query you", "grid of inputs", "thousands of queries", "many queries"),
         r"\b(?:systematically|enumerate|sweep|query)\b[^.]{0,50}\b(?:every|all|each|thousands|many) "
         r"(?:possible )?(?:inputs?|variations?|queries|combinations|prompts|values|tokens)\b|\bevery possible "
         r"(?:input|combination|variation)\b"),
    Rule("theft", "clone", 1.2, ("distill", "distil", "clone", "replicate", "reproduce", "steal", "extract", "copy",
                                 "mimic", "surrogate", "shadow model", "knockoff", "imitate"),
         r"\b(?:distill?|clone|replicate|reproduce|steal|extract|copy|mimic|imitate|reverse[- ]engineer)"
         rf"(?:{GAP(2)}|\s+)(?:this|your|the|its|a|their) (?:model|classifier|weights|network|llm|neural net|"
         r"decision (?:logic|boundary)|detector|scoring (?:model|function))\b|\b(?:train|build) (?:a |an )?"
         r"(?:surrogate|shadow|copycat|knockoff|substitute|student) model\b[^.]{0,60}\b(?:outputs?|answers|"
         r"responses|predictions|api|queries)\b"),
]

# How far a match can reach around its anchor, for the patterns that run most often on ordinary text: the regex
# then reads a window about half as long. (signal, group) -> (head, tail); each names exactly one rule.
# tests/nethical/test_governance_prefilters.py checks that narrowing changes no finding on real text.
_REACH: dict[tuple[str, str], tuple[Optional[int], Optional[int]]] = {
    ("insult", "directed"): (None, 24),       # "... you ... <insult>": ends on the anchor
    ("hate", "eliminate"): (None, 24),        # "... kill all <group>": ends on the anchor
    ("hate", "dehumanize"): (32, None),       # "(all|those) <group> are ...": starts on the anchor
    ("hate", "conspiracy"): (32, None),
    ("bias", "stereotype"): (32, None),
    ("bias", "stereotype_can"): (32, None),
    ("threat", "violent_threat"): (40, 48),   # "i'm going to <verb> you" / "i will ... where you live"
    ("injection", "reveal"): (None, 24),      # "... reveal ... <system prompt|instructions>"
    ("jailbreak", "unrestricted"): (None, 24),  # "... without any <restrictions>"
}


def _with_reach(rules: list[Rule]) -> tuple[Rule, ...]:
    out = []
    for rule in rules:
        reach = _REACH.get((rule.signal, rule.group))
        out.append(rule if reach is None else dataclasses.replace(rule, head=reach[0], tail=reach[1]))
    named = [(r.signal, r.group) for r in rules if (r.signal, r.group) in _REACH]
    assert sorted(named) == sorted(_REACH), "each _REACH entry must name exactly one rule"
    return tuple(out)


# Privacy rules are validated code (pii.py); these context-only signals are not needed here.
RULES: tuple[Rule, ...] = _with_reach(_R)


class RuleSet:
    """All rules compiled: one Aho–Corasick automaton over every anchor plus one compiled regex per rule."""

    def __init__(self, rules: tuple[Rule, ...] = RULES, signals: dict[str, Signal] = SIGNALS) -> None:
        self.rules = rules
        self.signals = signals
        # everything the engine's hot loop reads about a rule, in one tuple per rule id:
        # (signal, group, weight, compiled pattern, case_sensitive, head, tail, compiled unless)
        self.specs: list[tuple] = []
        anchors: dict[str, list[int]] = {}
        for i, rule in enumerate(rules):
            if rule.signal not in signals:
                raise ValueError(f"Rule #{i} ({rule.group}) names unknown signal {rule.signal!r}.")
            # patterns with a free-text clause ("[^.]{0,60}") can span more than the default window
            long_clause = bool(rule.pattern) and re.search(r"\{0,(?:[4-9]\d|\d{3,})\}", rule.pattern) is not None
            window = max(rule.window, 200) if long_clause else rule.window
            self.specs.append((rule.signal, rule.group, rule.weight, re.compile(rule.pattern) if rule.pattern else None,
                               rule.case_sensitive, window if rule.head is None else rule.head,
                               window if rule.tail is None else rule.tail,
                               re.compile(rule.unless) if rule.unless else None))
            for a in rule.anchors:
                anchors.setdefault(a.lower(), []).append(i)
        for hint in ROT13_HINTS:  # rule id -1: a ROT13 hint word, counted by the engine, never a rule
            anchors.setdefault(hint, []).append(-1)
        # per rule id: the (signal, group) it scores in and its weight, for :meth:`viable_signals`
        self.rule_keys = [(r.signal, r.group) for r in rules]
        self.rule_weights = [r.weight for r in rules]
        self._index_words(anchors)
        self.automaton = ahocorasick.Automaton()
        for key, ids in anchors.items():
            literal = key.lstrip("~").rstrip("*") if key not in ("*",) else key
            prefix = key.endswith("*")
            substring = key.startswith("~")
            # (offset of the first character from the last, rule ids, test the boundary before, test it after);
            # an edge that is not a word character needs no test ("~.co", "£")
            entry = (len(literal) - 1, tuple(ids), not substring and _is_word_char(literal[0]),
                     not substring and not prefix and _is_word_char(literal[-1]))
            existing = self.automaton.get(literal, None)
            if existing is not None:  # same literal under two spellings ("fuck" and "fuck*"): keep the loosest
                entry = (entry[0], tuple(sorted(set(existing[1]) | set(ids))), entry[2] and existing[2],
                         entry[3] and existing[3])
            self.automaton.add_word(literal, entry)
        self.automaton.make_automaton()

    def _index_words(self, anchors: dict[str, list[int]]) -> None:
        """Every word the anchors are made of, for :meth:`could_anchor`: whole words, word prefixes
        (``jailbreak*``, ``~.co``), word suffixes and infixes (``~gpt``)."""
        vocabulary: set[str] = set()
        prefixes: set[str] = set()
        suffixes: set[str] = set()
        infixes: set[str] = set()
        for key in anchors:
            substring, prefix = key.startswith("~"), key.endswith("*")
            literal = key.lstrip("~").rstrip("*")
            parts = literal.translate(_SEPARATORS).split()
            if not parts:
                continue  # only punctuation (":(){"): no view rewrites punctuation into it
            # a part touching the literal's edge may continue into the text's word when the anchor has no
            # boundary there (``~`` anchors: either edge; ``word*``: the end)
            open_start = substring and _is_word_char(literal[0])
            open_end = (substring or prefix) and _is_word_char(literal[-1])
            if len(parts) == 1:
                (infixes if open_start and open_end else suffixes if open_start else prefixes if open_end
                 else vocabulary).add(parts[0])
                continue
            (suffixes if open_start else vocabulary).add(parts[0])
            vocabulary.update(parts[1:-1])
            (prefixes if open_end else vocabulary).add(parts[-1])
        self.vocabulary = frozenset(vocabulary)
        self.prefixes, self.suffixes, self.infixes = (tuple(sorted(x)) for x in (prefixes, suffixes, infixes))

    def could_anchor(self, rewritten: list[str]) -> bool:
        """Whether any word of ``rewritten`` (text a de-obfuscation view rewrote, in its rewritten form) could be
        part of an anchor hit. A view differs from the text only where it rewrote, so when this is False the view
        cannot add a hit and is not scanned."""
        vocabulary, prefixes, suffixes, infixes = self.vocabulary, self.prefixes, self.suffixes, self.infixes
        for chunk in rewritten:
            for word in chunk.translate(_SEPARATORS).split():
                if word in vocabulary or word.startswith(prefixes) or word.endswith(suffixes):
                    return True
                for infix in infixes:
                    if infix in word:
                        return True
        return False

    def anchor_hits(self, text: str) -> list[tuple[int, int, tuple[int, ...]]]:
        """``(start, end, rule_ids)`` for every anchor occurrence that respects its word boundaries."""
        hits = []
        n = len(text)
        # one C-speed pass marks every word character "w" and every other character " " (non-ASCII characters go
        # through a codec error handler, one mark each); most automaton matches are short anchors inside longer
        # words, so the boundary test, two string comparisons, is the hot loop
        marks = text.encode("ascii", "nethical_word_mark").translate(_WORD_MARKS).decode("ascii")
        for end, (back, ids, check_start, check_end) in self.automaton.iter(text):
            start = end - back
            if check_start and start and marks[start - 1] == "w":
                continue
            end += 1
            if check_end and end < n and marks[end] == "w":
                continue
            hits.append((start, end, ids))
        return hits

    def viable_signals(self, hits: list[tuple[int, int, tuple[int, ...]]],
                       signals: Optional[dict[str, Signal]] = None) -> set[str]:
        """Signals that could still reach their threshold if every rule anchored in ``hits`` confirmed.

        A signal whose anchored groups cannot add up to its threshold will not fire whatever its regexes say, so
        the engine skips those regexes (a lone weak cue such as ``answer`` or ``urgent`` costs no regex run).
        """
        best: dict[tuple[str, str], float] = {}
        keys, weights = self.rule_keys, self.rule_weights
        for _, _, ids in hits:
            for rid in ids:
                if rid >= 0:
                    key = keys[rid]
                    w = weights[rid]
                    if best.get(key, 0.0) < w:
                        best[key] = w
        totals: dict[str, float] = {}
        for (signal, _), w in best.items():
            totals[signal] = totals.get(signal, 0.0) + w
        signals = self.signals if signals is None else signals
        return {sig for sig, total in totals.items() if total >= signals[sig].threshold - 1e-9}


class _Separators(dict):
    """``str.translate`` table: word characters (``str.isalnum`` or ``_``) map to themselves, anything else to a
    space; ASCII is filled in up front, other characters are classified on first sight and cached."""

    def __missing__(self, code: int) -> str:
        ch = chr(code)
        value = ch if _is_word_char(ch) else " "
        self[code] = value
        return value


def _is_word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


_SEPARATORS = _Separators({c: (chr(c) if _is_word_char(chr(c)) else " ") for c in range(128)})
_WORD_MARKS = bytes(ord("w") if _is_word_char(chr(c)) else ord(" ") for c in range(256))


def _mark_non_ascii(err: UnicodeEncodeError) -> tuple[str, int]:
    """Codec error handler for :meth:`RuleSet.anchor_hits`: ``_`` (a word mark after translation) for a word
    character, a space otherwise, one per character."""
    chunk = err.object[err.start:err.end]
    return "".join("_" if _is_word_char(ch) else " " for ch in chunk), err.end


codecs.register_error("nethical_word_mark", _mark_non_ascii)
