function __dossier_should_offer_completions_for_flags_or_options -a expected_commands
    set -l non_repeating_flags_or_options $argv[2..]
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __dossier_parse_tokens
    test "$commands" = "$expected_commands"; and return $non_repeating_flags_or_options_absent
end

function __dossier_should_offer_completions_for_positional -a expected_commands positional_index_comparison expected_positional_index
    set -l non_repeating_flags_or_options
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __dossier_parse_tokens
    test "$commands" = "$expected_commands" -a \( "$positional_index" "$positional_index_comparison" "$expected_positional_index" \)
end

function __dossier_parse_tokens -S
    set -l unparsed_tokens (__dossier_tokens -pc)
    switch $unparsed_tokens[1]
    case 'dossier'
        __dossier_parse_subcommand 0 'version' 'h/help'
        switch $unparsed_tokens[1]
        case 'keygen'
            __dossier_parse_subcommand 1 'name=' 'protect' 'passphrase-fd=' 'json' 'version' 'h/help'
        case 'check'
            __dossier_parse_subcommand 1 'profile=' 'profiles=' 'all' 'json' 'version' 'h/help'
        case 'seal'
            __dossier_parse_subcommand 1 'r/recipient=+' 'R/recipients-file=+' 's/sign=+' 'signer=+' 'id=' 'public=+' 'level=' 'o/output=' 'force' 'passphrase-fd=' 'log=' 'as=' 'profile=' 'profiles=' 'override-profile=' 'purpose=' 'json' 'q/quiet' 'version' 'h/help'
        case 'verify'
            __dossier_parse_subcommand -r 1 'trust=' 'require-role=+' 'i/identity=+' 'passphrase-fd=' 'json' 'q/quiet' 'version' 'h/help'
        case 'open'
            __dossier_parse_subcommand 1 'i/identity=+' 'o/output=' 'purpose=' 'only=' 'allow-untrusted' 'trust=' 'require-role=+' 'passphrase-fd=' 'log=' 'as=' 'json' 'q/quiet' 'version' 'h/help'
        case 'list'
            __dossier_parse_subcommand 1 'i/identity=+' 'purpose=' 'allow-untrusted' 'trust=' 'require-role=+' 'passphrase-fd=' 'log=' 'as=' 'json' 'version' 'h/help'
        case 'inspect'
            __dossier_parse_subcommand 1 'json' 'version' 'h/help'
        case 'log'
            __dossier_parse_subcommand 1 'verify' 'export=' 'verify-export=' 'import=' 'checkpoint=+' 'record=' 'purpose=' 'detail=+' 'trust=' 'log=' 'as=' 'passphrase-fd=' 'json' 'version' 'h/help'
        case 'checkpoint'
            __dossier_parse_subcommand 0 'origin=' 'signer=' 'o/output=' 'log=' 'passphrase-fd=' 'trust=' 'json' 'version' 'h/help'
        case 'countersign'
            __dossier_parse_subcommand 1 'signer=' 'trust=' 'require-role=+' 'allow-untrusted' 'passphrase-fd=' 'log=' 'as=' 'q/quiet' 'json' 'version' 'h/help'
        case 'rewrap'
            __dossier_parse_subcommand 1 'i/identity=+' 'r/recipient=+' 'R/recipients-file=+' 'signer=' 'reason=' 'trust=' 'require-role=+' 'allow-untrusted' 'passphrase-fd=' 'log=' 'as=' 'q/quiet' 'json' 'version' 'h/help'
        case 'version'
            __dossier_parse_subcommand 0 'version' 'h/help'
        case 'help'
            __dossier_parse_subcommand -r 1 'version'
        end
    end
end

function __dossier_tokens
    if test (string split -m 1 -f 1 -- . "$FISH_VERSION") -gt 3
        commandline --tokens-raw $argv
    else
        commandline -o $argv
    end
end

function __dossier_parse_subcommand -S -a positional_count
    argparse -s r -- $argv
    set -l option_specs $argv[2..]
    set -l is_repeating_positional $_flag_r
    set -el _flag_r
    set -a commands $unparsed_tokens[1]
    set positional_index 0
    while true
        set -e unparsed_tokens[1]
        argparse -sn "$commands" $option_specs -- $unparsed_tokens 2> /dev/null
        set unparsed_tokens $argv
        set positional_index (math $positional_index + 1)
        for non_repeating_flag_or_option in $non_repeating_flags_or_options
            if set -ql "_flag_$(string replace -a - _ -- $non_repeating_flag_or_option)"
                set non_repeating_flags_or_options_absent 1
                break
            end
        end
        test (count $unparsed_tokens) -eq 0 -o \( -z "$is_repeating_positional" -a "$positional_index" -gt "$positional_count" \) && break
    end
end

function __dossier_complete_directories
    set -l token (commandline -t)
    string match -- '*/' $token
    set -l subdirs $token*/
    printf %s\n $subdirs
end

function __dossier_custom_completion
    set -x SAP_SHELL fish
    set -x SAP_SHELL_VERSION $FISH_VERSION
    set -l tokens (__dossier_tokens -p)
    if test -z "$(__dossier_tokens -t)"
        set -l index (count (__dossier_tokens -pc))
        set tokens $tokens[..$index] \'\' $tokens[(math $index + 1)..]
    end
    command $tokens[1] $argv $tokens
end

complete -c 'dossier' -f
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier" version' -l 'version' -d 'Show the version.'
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'dossier' -n '__dossier_should_offer_completions_for_positional "dossier" -eq 1' -fa 'keygen' -d 'Create an encryption identity and a signing key.'
complete -c 'dossier' -n '__dossier_should_offer_completions_for_positional "dossier" -eq 1' -fa 'check' -d 'Check a case folder against its profile (the standard template) before sealing.'
complete -c 'dossier' -n '__dossier_should_offer_completions_for_positional "dossier" -eq 1' -fa 'seal' -d 'Seal a case folder (or a zip / tar / 7z archive) into a signed, encrypted .dossier file.'
complete -c 'dossier' -n '__dossier_should_offer_completions_for_positional "dossier" -eq 1' -fa 'verify' -d 'Verify dossiers with public keys only (an inspector\'s command).'
complete -c 'dossier' -n '__dossier_should_offer_completions_for_positional "dossier" -eq 1' -fa 'open' -d 'Open a dossier with an identity into a new folder.'
complete -c 'dossier' -n '__dossier_should_offer_completions_for_positional "dossier" -eq 1' -fa 'list' -d 'List a dossier\'s documents (paths, sizes, media types) without opening any.'
complete -c 'dossier' -n '__dossier_should_offer_completions_for_positional "dossier" -eq 1' -fa 'inspect' -d 'Show a dossier\'s public manifest, signers, recipients and sizes, without keys.'
complete -c 'dossier' -n '__dossier_should_offer_completions_for_positional "dossier" -eq 1' -fa 'log' -d 'Show, verify, export or import a dossier\'s access log.'
complete -c 'dossier' -n '__dossier_should_offer_completions_for_positional "dossier" -eq 1' -fa 'checkpoint' -d 'Sign a checkpoint of the whole access log (size and Merkle root) to hand to inspectors or publish.'
complete -c 'dossier' -n '__dossier_should_offer_completions_for_positional "dossier" -eq 1' -fa 'countersign' -d 'Add a signature (e.g. the receiving archive\'s) to a sealed dossier.'
complete -c 'dossier' -n '__dossier_should_offer_completions_for_positional "dossier" -eq 1' -fa 'rewrap' -d 'Transfer a dossier: re-encrypt its key for new recipients, keeping all signatures valid.'
complete -c 'dossier' -n '__dossier_should_offer_completions_for_positional "dossier" -eq 1' -fa 'version' -d 'Print the versions of dossier, OpenSSL and libarchive.'
complete -c 'dossier' -n '__dossier_should_offer_completions_for_positional "dossier" -eq 1' -fa 'help' -d 'Show subcommand help information.'
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier keygen" name' -l 'name' -d 'The key holder\'s name, recorded in the signing key and its signatures.' -rfka ''
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier keygen" protect' -l 'protect' -d 'Protect the secret files with a passphrase.'
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier keygen" passphrase-fd' -l 'passphrase-fd' -d 'Read passphrases from this file descriptor, one per line (batch work). Otherwise DOSSIER_PASSPHRASE, otherwise the terminal without echo.' -rfka ''
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier keygen" json' -l 'json' -d 'Print the public parts as JSON.'
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier keygen" version' -l 'version' -d 'Show the version.'
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier keygen" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier check" profile' -l 'profile' -d 'The profile: a JSON file, or a name in the profiles folder.' -rfka ''
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier check" profiles' -l 'profiles' -d 'A folder of named profiles (NAME.json). Default: $DOSSIER_PROFILES.' -rfka ''
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier check" all' -l 'all' -d 'Print every rule, not only the failed ones.'
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier check" json' -l 'json' -d 'Print the report as JSON.'
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier check" version' -l 'version' -d 'Show the version.'
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier check" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier seal"' -s 'r' -l 'recipient' -d 'An age recipient (age1...) who may open the dossier (repeatable).' -rfka ''
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier seal"' -s 'R' -l 'recipients-file' -d 'A file of age recipients, one per line (repeatable).' -rfka ''
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier seal"' -s 's' -l 'sign' -d 'A signing key that signs as sealer (repeatable).' -rfka ''
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier seal"' -l 'signer' -d 'A further signer as ROLE=KEYFILE, e.g. approver=keys/otto.sign; a bare KEYFILE signs as approver (repeatable).' -rfka ''
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier seal" id' -l 'id' -d 'The dossier id, sealed once (default: the source folder\'s name, or the archive\'s name without its extension).' -rfka ''
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier seal"' -l 'public' -d 'Metadata to publish in the manifest as KEY=VALUE (repeatable; visible without a key).' -rfka ''
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier seal" level' -l 'level' -d 'zstd compression level, 1-19.' -rfka ''
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier seal" o output' -l 'output' -s 'o' -d 'The .dossier file to write.' -rfka ''
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier seal" force' -l 'force' -d 'Replace an existing output file.'
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier seal" passphrase-fd' -l 'passphrase-fd' -d 'Read passphrases from this file descriptor, one per line (batch work). Otherwise DOSSIER_PASSPHRASE, otherwise the terminal without echo.' -rfka ''
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier seal" log' -l 'log' -d 'The access log (SQLite ledger). Default: $DOSSIER_LOG, else ~/.local/share/dossier/access-log.sqlite.' -rfka ''
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier seal" as' -l 'as' -d 'Who acts, as ROLE=KEYFILE or KEYFILE (signs the log entry). Default: $DOSSIER_ACTOR.' -rfka ''
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier seal" profile' -l 'profile' -d 'The profile: a JSON file, or a name in the profiles folder.' -rfka ''
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier seal" profiles' -l 'profiles' -d 'A folder of named profiles (NAME.json). Default: $DOSSIER_PROFILES.' -rfka ''
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier seal" override-profile' -l 'override-profile' -d 'Seal although the folder fails its profile; the reason goes into the manifest and the access log.' -rfka ''
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier seal" purpose' -l 'purpose' -d 'Why the dossier is sealed (recorded in the access log).' -rfka ''
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier seal" json' -l 'json' -d 'Print the result as JSON.'
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier seal" q quiet' -l 'quiet' -s 'q' -d 'Print nothing but errors.'
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier seal" version' -l 'version' -d 'Show the version.'
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier seal" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier verify" trust' -l 'trust' -d 'Trust file: one "ROLES PUBLIC-KEY NAME" line per trusted key (default: $DOSSIER_TRUST).' -rfka ''
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier verify"' -l 'require-role' -d 'A role that needs a valid trusted signature (repeatable; default: sealer).' -rfka ''
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier verify"' -s 'i' -l 'identity' -d 'An identity file for a deep check of the content (repeatable).' -rfka ''
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier verify" passphrase-fd' -l 'passphrase-fd' -d 'Read passphrases from this file descriptor, one per line (batch work). Otherwise DOSSIER_PASSPHRASE, otherwise the terminal without echo.' -rfka ''
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier verify" json' -l 'json' -d 'Print one JSON report per line.'
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier verify" q quiet' -l 'quiet' -s 'q' -d 'Print only the summary (and errors).'
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier verify" version' -l 'version' -d 'Show the version.'
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier verify" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier open"' -s 'i' -l 'identity' -d 'An identity file (repeatable).' -rfka ''
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier open" o output' -l 'output' -s 'o' -d 'The folder to create (- with --only: standard output).' -rfka ''
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier open" purpose' -l 'purpose' -d 'Why the dossier is opened (recorded in the access log before anything is decrypted).' -rfka ''
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier open" only' -l 'only' -d 'Open only this document (its path inside the dossier).' -rfka ''
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier open" allow-untrusted' -l 'allow-untrusted' -d 'Open even if signers are not trusted (integrity is still required).'
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier open" trust' -l 'trust' -d 'Trust file: one "ROLES PUBLIC-KEY NAME" line per trusted key (default: $DOSSIER_TRUST).' -rfka ''
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier open"' -l 'require-role' -d 'A role that needs a valid trusted signature (repeatable; default: sealer).' -rfka ''
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier open" passphrase-fd' -l 'passphrase-fd' -d 'Read passphrases from this file descriptor, one per line (batch work). Otherwise DOSSIER_PASSPHRASE, otherwise the terminal without echo.' -rfka ''
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier open" log' -l 'log' -d 'The access log (SQLite ledger). Default: $DOSSIER_LOG, else ~/.local/share/dossier/access-log.sqlite.' -rfka ''
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier open" as' -l 'as' -d 'Who acts, as ROLE=KEYFILE or KEYFILE (signs the log entry). Default: $DOSSIER_ACTOR.' -rfka ''
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier open" json' -l 'json' -d 'Print the result as JSON.'
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier open" q quiet' -l 'quiet' -s 'q' -d 'Print nothing but errors.'
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier open" version' -l 'version' -d 'Show the version.'
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier open" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier list"' -s 'i' -l 'identity' -d 'An identity file (repeatable).' -rfka ''
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier list" purpose' -l 'purpose' -d 'Why the dossier is listed (recorded in the access log before anything is decrypted).' -rfka ''
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier list" allow-untrusted' -l 'allow-untrusted' -d 'List even if signers are not trusted (integrity is still required).'
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier list" trust' -l 'trust' -d 'Trust file: one "ROLES PUBLIC-KEY NAME" line per trusted key (default: $DOSSIER_TRUST).' -rfka ''
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier list"' -l 'require-role' -d 'A role that needs a valid trusted signature (repeatable; default: sealer).' -rfka ''
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier list" passphrase-fd' -l 'passphrase-fd' -d 'Read passphrases from this file descriptor, one per line (batch work). Otherwise DOSSIER_PASSPHRASE, otherwise the terminal without echo.' -rfka ''
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier list" log' -l 'log' -d 'The access log (SQLite ledger). Default: $DOSSIER_LOG, else ~/.local/share/dossier/access-log.sqlite.' -rfka ''
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier list" as' -l 'as' -d 'Who acts, as ROLE=KEYFILE or KEYFILE (signs the log entry). Default: $DOSSIER_ACTOR.' -rfka ''
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier list" json' -l 'json' -d 'Print the result as JSON (with every document\'s SHA-256 and time).'
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier list" version' -l 'version' -d 'Show the version.'
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier list" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier inspect" json' -l 'json' -d 'Print as JSON.'
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier inspect" version' -l 'version' -d 'Show the version.'
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier inspect" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier log" verify' -l 'verify' -d 'Verify the chain, signatures, anchor and checkpoints.'
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier log" export' -l 'export' -d 'Write the log as JSON Lines to this file (- for standard output).' -rfka ''
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier log" verify-export' -l 'verify-export' -d 'Verify an exported log offline.' -rfka ''
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier log" import' -l 'import' -d 'Import an exported log into this ledger.' -rfka ''
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier log"' -l 'checkpoint' -d 'A checkpoint (signed note) to check the ledger against (repeatable).' -rfka ''
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier log" record' -l 'record' -d 'Record an event: loaned, returned, verified, destroyed, registered (needs --as and --purpose).' -rfka ''
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier log" purpose' -l 'purpose' -d 'Why (with --record).' -rfka ''
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier log"' -l 'detail' -d 'A detail KEY=VALUE for --record, e.g. approver="Otto Officer" (repeatable).' -rfka ''
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier log" trust' -l 'trust' -d 'Trust file: one "ROLES PUBLIC-KEY NAME" line per trusted key (default: $DOSSIER_TRUST).' -rfka ''
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier log" log' -l 'log' -d 'The access log (SQLite ledger). Default: $DOSSIER_LOG, else ~/.local/share/dossier/access-log.sqlite.' -rfka ''
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier log" as' -l 'as' -d 'Who acts, as ROLE=KEYFILE or KEYFILE (signs the log entry). Default: $DOSSIER_ACTOR.' -rfka ''
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier log" passphrase-fd' -l 'passphrase-fd' -d 'Read passphrases from this file descriptor, one per line (batch work). Otherwise DOSSIER_PASSPHRASE, otherwise the terminal without echo.' -rfka ''
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier log" json' -l 'json' -d 'Print as JSON.'
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier log" version' -l 'version' -d 'Show the version.'
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier log" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier checkpoint" origin' -l 'origin' -d 'The ledger\'s name: one word, e.g. justice-bureau.example.' -rfka ''
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier checkpoint" signer' -l 'signer' -d 'The key that signs the checkpoint.' -rfka ''
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier checkpoint" o output' -l 'output' -s 'o' -d 'Also write the checkpoint to this file.' -rfka ''
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier checkpoint" log' -l 'log' -d 'The access log (SQLite ledger). Default: $DOSSIER_LOG, else ~/.local/share/dossier/access-log.sqlite.' -rfka ''
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier checkpoint" passphrase-fd' -l 'passphrase-fd' -d 'Read passphrases from this file descriptor, one per line (batch work). Otherwise DOSSIER_PASSPHRASE, otherwise the terminal without echo.' -rfka ''
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier checkpoint" trust' -l 'trust' -d 'Trust file: one "ROLES PUBLIC-KEY NAME" line per trusted key (default: $DOSSIER_TRUST).' -rfka ''
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier checkpoint" json' -l 'json' -d 'Print as JSON.'
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier checkpoint" version' -l 'version' -d 'Show the version.'
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier checkpoint" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier countersign" signer' -l 'signer' -d 'ROLE=KEYFILE (default role countersigner).' -rfka ''
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier countersign" trust' -l 'trust' -d 'Trust file: one "ROLES PUBLIC-KEY NAME" line per trusted key (default: $DOSSIER_TRUST).' -rfka ''
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier countersign"' -l 'require-role' -d 'A role that needs a valid trusted signature (repeatable; default: sealer).' -rfka ''
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier countersign" allow-untrusted' -l 'allow-untrusted' -d 'Go ahead even if the signers are not trusted (integrity is still required).'
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier countersign" passphrase-fd' -l 'passphrase-fd' -d 'Read passphrases from this file descriptor, one per line (batch work). Otherwise DOSSIER_PASSPHRASE, otherwise the terminal without echo.' -rfka ''
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier countersign" log' -l 'log' -d 'The access log (SQLite ledger). Default: $DOSSIER_LOG, else ~/.local/share/dossier/access-log.sqlite.' -rfka ''
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier countersign" as' -l 'as' -d 'Who acts, as ROLE=KEYFILE or KEYFILE (signs the log entry). Default: $DOSSIER_ACTOR.' -rfka ''
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier countersign" q quiet' -l 'quiet' -s 'q' -d 'Print nothing but errors.'
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier countersign" json' -l 'json' -d 'Print the verification of the result as JSON.'
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier countersign" version' -l 'version' -d 'Show the version.'
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier countersign" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier rewrap"' -s 'i' -l 'identity' -d 'An identity that can open the dossier now (repeatable).' -rfka ''
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier rewrap"' -s 'r' -l 'recipient' -d 'A new recipient (repeatable).' -rfka ''
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier rewrap"' -s 'R' -l 'recipients-file' -d 'A file of new recipients.' -rfka ''
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier rewrap" signer' -l 'signer' -d 'transferrer=KEYFILE: who signs the transfer record.' -rfka ''
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier rewrap" reason' -l 'reason' -d 'Why the dossier is transferred (recorded and signed).' -rfka ''
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier rewrap" trust' -l 'trust' -d 'Trust file: one "ROLES PUBLIC-KEY NAME" line per trusted key (default: $DOSSIER_TRUST).' -rfka ''
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier rewrap"' -l 'require-role' -d 'A role that needs a valid trusted signature (repeatable; default: sealer).' -rfka ''
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier rewrap" allow-untrusted' -l 'allow-untrusted' -d 'Go ahead even if the signers are not trusted (integrity is still required).'
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier rewrap" passphrase-fd' -l 'passphrase-fd' -d 'Read passphrases from this file descriptor, one per line (batch work). Otherwise DOSSIER_PASSPHRASE, otherwise the terminal without echo.' -rfka ''
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier rewrap" log' -l 'log' -d 'The access log (SQLite ledger). Default: $DOSSIER_LOG, else ~/.local/share/dossier/access-log.sqlite.' -rfka ''
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier rewrap" as' -l 'as' -d 'Who acts, as ROLE=KEYFILE or KEYFILE (signs the log entry). Default: $DOSSIER_ACTOR.' -rfka ''
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier rewrap" q quiet' -l 'quiet' -s 'q' -d 'Print nothing but errors.'
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier rewrap" json' -l 'json' -d 'Print the verification of the result as JSON.'
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier rewrap" version' -l 'version' -d 'Show the version.'
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier rewrap" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier version" version' -l 'version' -d 'Show the version.'
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier version" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'dossier' -n '__dossier_should_offer_completions_for_flags_or_options "dossier help" version' -l 'version' -d 'Show the version.'
