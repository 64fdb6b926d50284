#!/usr/bin/perl
# The client side of a SCRAM-SHA-256 login, played by Perl's Authen::SCRAM::Client (Debian
# package libauthen-scram-perl), an implementation independent of WeftKit's. Driven by
# scram_interop_test.cc, which plays the server with WeftKit's code, one message per line:
#
#   this script                            the test
#   prints client-first-message     ->
#                                   <-     server-first-message
#   prints client-final-message     ->
#                                   <-     server-final-message
#   prints "OK" if the server's signature verifies, else "ERROR <reason>"; exits 0 or 1.
#
# Usage: scram_interop.pl USER PASSWORD   (both UTF-8)
#
# Authen::SCRAM applies full SASLprep (NFKC) to the password; WeftKit applies a subset that
# accepts only strings SASLprep leaves unchanged, so both must derive the same keys.
# Plain SCRAM-SHA-256 only: the module has no tls-exporter channel binding.
use strict;
use warnings;
use Authen::SCRAM::Client;
use Encode qw(decode encode);

$| = 1;
binmode STDIN;
binmode STDOUT;

die "usage: $0 USER PASSWORD\n" unless @ARGV == 2;
my ($user, $password) = map { decode('UTF-8', $_, Encode::FB_CROAK) } @ARGV;

sub read_line {
    my $line = <STDIN>;
    die "server closed the conversation\n" unless defined $line;
    chomp $line;
    return decode('UTF-8', $line, Encode::FB_CROAK);
}

my $outcome = eval {
    my $client = Authen::SCRAM::Client->new(
        username                => $user,
        password                => $password,
        digest                  => 'SHA-256',
        minimum_iteration_count => 4096,
    );
    print encode("UTF-8", $client->first_msg()), "\n";
    my $final = $client->final_msg(read_line());
    print encode("UTF-8", $final), "\n";
    $client->validate(read_line());
    1;
};
if ($outcome) {
    print "OK\n";
    exit 0;
}
my $reason = $@;
$reason =~ s/\s+at \S+ line \d+.*//s;
print "ERROR $reason\n";
exit 1;
