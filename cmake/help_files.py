#!/usr/bin/env python3
"""Makes hyperdefrag's man page and shell completions from the built binary's
own --help, so that neither can drift from the options (cmake/Install.cmake
runs it at build time):

    help_files.py completions BINARY OUTDIR
        writes OUTDIR/hyperdefrag.bash, OUTDIR/_hyperdefrag (zsh) and
        OUTDIR/hyperdefrag.fish
    help_files.py man BINARY OUT HELP2MAN VERSION
        writes the man page OUT with help2man, with a section for
        `hyperdefrag inspect --help`

The options are read from CLI11's help layout: an option line starts with two
spaces and a dash, its names are comma-separated, a value it takes follows as
a type (TEXT, INT, SIZE, [PATH]) and its description starts after two or more
spaces or on the next line.
"""

import os
import re
import subprocess
import sys
import tempfile

# The subcommands: their name and the arguments that print their --help.
SUBCOMMANDS = {
    "inspect": ["inspect", "--help"],
    "check": ["check", "--help"],
    "plan": ["plan", "--help"],
    "results": ["results", "--help"],
}
# Values worth offering for an option that takes one, by its long name; an
# option whose type is TEXT or PATH otherwise completes file names.
VALUE_WORDS = {"--sort": ["auto"]}
INPUT_SUFFIXES = ["hyper", "twbx", "tdsx"]

OPTION_LINE = re.compile(r"^  (-[^\s]+)( [^\s].*?)?(?:\s{2,}(\S.*))?$")


class Option:
    def __init__(self, names, value_type, description):
        self.names = names  # e.g. ["-o", "--output-hyper-file-path"]
        self.value_type = value_type  # "" for a flag, else e.g. "TEXT", "[PATH]"
        self.description = description  # its first line

    @property
    def takes_value(self):
        return bool(self.value_type)

    @property
    def optional_value(self):
        return self.value_type.startswith("[")

    @property
    def long_name(self):
        return next((n for n in self.names if n.startswith("--")), self.names[0])

    @property
    def takes_file(self):
        # "TEXT" or "[PATH]"; not "TEXT:SIZE", "INT:INT", "INT:NONNEGATIVE".
        return self.long_name not in VALUE_WORDS and self.value_type.strip("[]") in ("TEXT", "PATH")


def help_text(binary, args):
    return subprocess.run([binary, *args], check=True, capture_output=True, text=True).stdout


def parse_options(text):
    """The options of one --help text, in order."""
    options = []
    lines = text.splitlines()
    for index, line in enumerate(lines):
        match = OPTION_LINE.match(line)
        if not match:
            continue
        names = match.group(1).split(",")
        opts = (match.group(2) or "").strip()
        # The type is the first word of what follows the names ("INT:INT in
        # [1 - 64]" is an INT); "Excludes:" and the like are not types.
        value_type = opts.split(" ")[0] if opts and (opts[0] == "[" or opts[0].isupper()) else ""
        if value_type.endswith(":"):
            value_type = ""
        # The description: after the names, and the deeper-indented lines below.
        parts = [match.group(3)] if match.group(3) else []
        for following in lines[index + 1:]:
            if not following.startswith("    ") or OPTION_LINE.match(following):
                break
            parts.append(following.strip())
        options.append(Option(names, value_type, short_description(" ".join(parts))))
    return options


def short_description(text):
    """What a completion menu shows: the description up to its first
    semicolon, and up to a parenthesis that comes after its first words."""
    for stop in ("; ", " ("):
        if text.find(stop) >= 20:
            text = text[:text.index(stop)]
    return text.strip().rstrip(":,")


def sh_words(words):
    return " ".join(words)


def bash_script(main, subs):
    out = [
        "# bash completion for hyperdefrag; made from its --help by cmake/help_files.py",
        "",
        "_hyperdefrag_inputs() {",
        "  local file",
        "  while IFS= read -r file; do",
        '    case $file in',
        "      " + "|".join(f"*.{s}" for s in INPUT_SUFFIXES) + ') COMPREPLY+=("$file") ;;',
        '      *) [[ -d $file ]] && COMPREPLY+=("$file/") ;;',
        "    esac",
        '  done < <(compgen -f -- "$1")',
        "}",
        "",
        "_hyperdefrag() {",
        '  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}',
        '  local options file_options value_options first_words',
        "  COMPREPLY=()",
        '  case ${COMP_WORDS[1]} in',
    ]

    def branch(pattern, options, extra_first):
        files = [n for o in options if o.takes_file for n in o.names]
        values = [n for o in options if o.takes_value and not o.takes_file for n in o.names]
        out.append(f"    {pattern})")
        out.append(f'      options="{sh_words(n for o in options for n in o.names)}"')
        out.append(f'      file_options=" {sh_words(files)} "')
        out.append(f'      value_options=" {sh_words(values)} "')
        out.append(f'      first_words="{extra_first}"')
        out.append("      ;;")

    for name, options in subs.items():
        branch(name, options, "")
    branch("*", main, " ".join(subs))
    out += [
        "  esac",
        '  if [[ $file_options == *" $prev "* ]]; then',
        '    COMPREPLY=($(compgen -f -- "$cur"))',
        "    return",
        "  fi",
    ]
    for long_name, words in VALUE_WORDS.items():
        out.append(f'  if [[ $prev == {long_name} ]]; then')
        out.append(f'    COMPREPLY=($(compgen -W "{sh_words(words)}" -- "$cur"))')
        out.append("    return")
        out.append("  fi")
    out += [
        '  [[ $value_options == *" $prev "* ]] && return',
        "  if [[ $cur == -* ]]; then",
        '    COMPREPLY=($(compgen -W "$options" -- "$cur"))',
        "    return",
        "  fi",
        '  (( COMP_CWORD == 1 )) && COMPREPLY=($(compgen -W "$first_words" -- "$cur"))',
        '  _hyperdefrag_inputs "$cur"',
        "}",
        "complete -o filenames -F _hyperdefrag hyperdefrag",
        "",
    ]
    return "\n".join(out)


def zsh_escape(text):
    return text.replace("\\", "\\\\").replace("'", "'\\''").replace("[", "\\[").replace(
        "]", "\\]").replace(":", "\\:")


def zsh_specs(options):
    specs = []
    for option in options:
        description = zsh_escape(option.description)
        if option.takes_file:
            action = ":file:_files"
        elif option.long_name in VALUE_WORDS:
            action = f":value:({' '.join(VALUE_WORDS[option.long_name])})"
        elif option.takes_value:
            action = ":value: "
        else:
            action = ""
        if option.optional_value:
            action = ":" + action  # "::file:_files": the value may be left out
        exclusive = "(- *)" if option.long_name in ("--help", "--version") else (
            f"({' '.join(option.names)})" if len(option.names) > 1 else "")
        names = option.names[0] if len(option.names) == 1 else "{" + ",".join(option.names) + "}"
        # An option with an optional value takes it as --backup=PATH.
        eq = "=-" if option.optional_value else ""
        if len(option.names) == 1:
            specs.append(f"'{exclusive}{names}{eq}[{description}]{action}'")
        else:
            specs.append(f"'{exclusive}'{names}'{eq}[{description}]{action}'")
    return specs


def zsh_script(main, subs):
    glob = "*.(" + "|".join(INPUT_SUFFIXES) + ")"
    out = [
        "#compdef hyperdefrag",
        "# zsh completion for hyperdefrag; made from its --help by cmake/help_files.py",
        "",
        "_hyperdefrag_inputs() {",
        f"  _files -g '{glob}'",
        "}",
        "",
        "_hyperdefrag_first() {",
        "  _alternative 'subcommands:subcommand:(( "
        + " ".join(f"{name}\\:{zsh_escape(desc)}" for name, desc in SUB_DESCRIPTIONS.items())
        + " ))' 'inputs:input:_hyperdefrag_inputs'",
        "}",
        "",
        "_hyperdefrag() {",
        "  case ${words[2]} in",
    ]
    for name, options in subs.items():
        out.append(f"    {name})")
        out.append("      words=(${words[1,1]} ${words[3,-1]})")
        out.append("      (( CURRENT-- ))")
        out.append("      _arguments -s -S \\")
        for spec in zsh_specs(options):
            out.append(f"        {spec} \\")
        out.append("        '*:input:_hyperdefrag_inputs'")
        out.append("      ;;")
    out.append("    *)")
    out.append("      _arguments -s -S \\")
    for spec in zsh_specs(main):
        out.append(f"        {spec} \\")
    out.append("        '1:input or subcommand:_hyperdefrag_first' \\")
    out.append("        '*:input:_hyperdefrag_inputs'")
    out += ["      ;;", "  esac", "}", "", '_hyperdefrag "$@"', ""]
    return "\n".join(out)


def fish_quote(text):
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def fish_lines(options, condition):
    lines = []
    for option in options:
        parts = ["complete -c hyperdefrag", f"-n {fish_quote(condition)}"]
        for name in option.names:
            if name.startswith("--"):
                parts.append(f"-l {name[2:]}")
            else:
                parts.append(f"-s {name[1:]}")
        if option.takes_file and not option.optional_value:
            parts.append("-r -F")
        elif option.long_name in VALUE_WORDS:
            parts.append(f"-x -a {fish_quote(' '.join(VALUE_WORDS[option.long_name]))}")
        elif option.takes_value and not option.optional_value:
            parts.append("-x")
        parts.append(f"-d {fish_quote(option.description)}")
        lines.append(" ".join(parts))
    return lines


def fish_script(main, subs):
    out = [
        "# fish completion for hyperdefrag; made from its --help by cmake/help_files.py",
        "",
        "# Whether the command line's first word after hyperdefrag is one of the arguments.",
        "function __hyperdefrag_in",
        "    set -l words (commandline -opc)",
        "    test (count $words) -ge 2; and contains -- $words[2] $argv",
        "end",
        "",
    ]
    in_sub = " ".join(subs)
    for name, description in SUB_DESCRIPTIONS.items():
        out.append(f"complete -c hyperdefrag -n '__fish_use_subcommand' -a {name} "
                   f"-d {fish_quote(description)}")
    out += fish_lines(main, f"not __hyperdefrag_in {in_sub}")
    for name, options in subs.items():
        out += fish_lines(options, f"__hyperdefrag_in {name}")
    out.append("")
    return "\n".join(out)


SUB_DESCRIPTIONS = {}


def first_sentence_of(text, name):
    """The description line a subcommand's --help starts with, after "NAME: "."""
    first = text.strip().splitlines()[0]
    return short_description(first.split(": ", 1)[1] if ": " in first else first)


def completions(binary, outdir):
    os.makedirs(outdir, exist_ok=True)
    main = parse_options(help_text(binary, ["--help"]))
    subs = {}
    for name, args in SUBCOMMANDS.items():
        text = help_text(binary, args)
        subs[name] = parse_options(text)
        SUB_DESCRIPTIONS[name] = first_sentence_of(text, name)
    if not main or any(not options for options in subs.values()):
        sys.exit(f"help_files.py: found no options in the --help of {binary}")
    for filename, text in (("hyperdefrag.bash", bash_script(main, subs)),
                           ("_hyperdefrag", zsh_script(main, subs)),
                           ("hyperdefrag.fish", fish_script(main, subs))):
        with open(os.path.join(outdir, filename), "w") as out:
            out.write(text)


def roff_lines(text):
    """Preformatted text for a man page: backslashes doubled, a line starting
    with . or ' protected."""
    out = [".nf"]
    for line in text.rstrip("\n").splitlines():
        line = line.replace("\\", "\\e")
        if line.startswith((".", "'")):
            line = "\\&" + line
        out.append(line)
    out.append(".fi")
    return "\n".join(out)


def paragraph(text, heading):
    """The lines under "HEADING:" in a --help text, up to the next blank line."""
    lines = text.splitlines()
    if heading + ":" not in lines:
        return ""
    start = lines.index(heading + ":") + 1
    end = lines.index("", start) if "" in lines[start:] else len(lines)
    return "\n".join(lines[start:end])


def man(binary, output, help2man, version):
    main_help = help_text(binary, ["--help"])
    include = ""
    for name, args in SUBCOMMANDS.items():
        include += f"[{name.upper()} SUBCOMMAND]\n" + roff_lines(help_text(binary, args)) + "\n"
    # help2man would run the examples together and file the exit codes under them.
    for heading, section in (("Examples", "=EXAMPLES"), ("Exit codes", "EXIT STATUS")):
        text = paragraph(main_help, heading)
        if text:
            include += f"[{section}]\n" + roff_lines(text) + "\n"
    first = main_help.strip().splitlines()[0]
    summary = first.split(": ", 1)[1].rstrip(".") if ": " in first else "hyperdefrag"
    with tempfile.NamedTemporaryFile("w", suffix=".h2m", delete=False) as handle:
        handle.write(include)
    try:
        subprocess.run([help2man, "--no-info", "--no-discard-stderr", f"--name={summary}",
                        f"--version-string=hyperdefrag {version}", f"--include={handle.name}",
                        f"--output={output}", binary], check=True)
    finally:
        os.unlink(handle.name)


def main(argv):
    if len(argv) == 4 and argv[1] == "completions":
        completions(argv[2], argv[3])
    elif len(argv) == 6 and argv[1] == "man":
        man(argv[2], argv[3], argv[4], argv[5])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
