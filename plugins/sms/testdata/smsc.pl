#!/usr/bin/perl
# A small SMSC for the sms plugin's tests, on Net::SMPP (Debian package
# libnet-smpp-perl), so the plugin is checked against an SMPP peer
# written by somebody else.
#
#   perl smsc.pl --port N [--password PW] [--status DEST=STATUS ...]
#                [--silent DEST ...] [--id-prefix P] [--receipts]
#                [--receipt-stat DEST=STAT[:ERR] ...]
#
# It listens on 127.0.0.1:N and serves any number of sessions at once,
# one process, no threads. It answers bind_transceiver (refusing a wrong
# password with ESME_RINVPASWD when --password is given), enquire_link,
# unbind and submit_sm. A submit_sm to a DEST listed with --status is
# answered with that command status (hex or decimal), any other with
# status 0 and a message id "P-N"; one to a DEST listed with --silent is
# never answered. With --receipts, each accepted
# submit_sm asking for a receipt is followed by a deliver_sm receipt,
# stat DELIVRD err 000 unless --receipt-stat gives the DEST another (for
# example UNDELIV:001), in both the text and the message_state TLV.
#
# Everything it receives is printed to stdout as one JSON object per
# line, after a first {"event":"listening"} line. It exits when stdin
# closes, so it never outlives the test that started it.
use strict;
use warnings;
use Getopt::Long;
use IO::Select;
use JSON::PP;
use Net::SMPP;

my ($port, $password, $id_prefix, $receipts) = (0, undef, 'msg', 0);
my %status;
my %receipt_stat;
my @silent;
GetOptions(
    'port=i'      => \$port,
    'password=s'  => \$password,
    'status=s'    => \%status,
    'silent=s'    => \@silent,
    'id-prefix=s' => \$id_prefix,
    'receipts'    => \$receipts,
    'receipt-stat=s' => \%receipt_stat,
) or die "usage: $0 --port N [--password PW] [--status DEST=STATUS] [--silent DEST] [--id-prefix P] [--receipts] [--receipt-stat DEST=STAT[:ERR]]\n";
die "--port is required\n" unless $port;
$_ = ($_ =~ /^0x/i ? hex($_) : $_ + 0) for values %status;
# message_state values of SMPP 3.4, 5.2.28.
my %message_state = (ENROUTE => 1, DELIVRD => 2, EXPIRED => 3, DELETED => 4,
                     UNDELIV => 5, ACCEPTD => 6, UNKNOWN => 7, REJECTD => 8);

$| = 1;
my $json = JSON::PP->new->canonical->utf8;
sub emit { print $json->encode({@_}), "\n" }

my $listener = Net::SMPP->new_listen('127.0.0.1', port => $port, smpp_version => 0x34)
    or die "listen on 127.0.0.1:$port: $!\n";
my $sel = IO::Select->new($listener, \*STDIN);
my $next_id = 0;
emit(event => 'listening', port => $port + 0);

while (1) {
    for my $fh ($sel->can_read) {
        if ($fh == \*STDIN) {
            my $buf;
            exit 0 unless sysread(STDIN, $buf, 4096);
            next;
        }
        if ($fh == $listener) {
            my $conn = $listener->accept or next;
            $sel->add($conn);
            emit(event => 'connect');
            next;
        }
        my $pdu = $fh->read_pdu;
        if (!$pdu) {
            $sel->remove($fh);
            close $fh;
            emit(event => 'disconnect');
            next;
        }
        handle($fh, $pdu);
    }
}

sub handle {
    my ($conn, $pdu) = @_;
    my $cmd = $pdu->{cmd};
    if ($cmd == Net::SMPP::CMD_bind_transceiver) {
        my $ok = !defined($password) || $pdu->{password} eq $password;
        emit(event => 'bind', system_id => $pdu->{system_id}, password => $pdu->{password},
             interface_version => $pdu->{interface_version}, accepted => $ok ? JSON::PP::true : JSON::PP::false);
        $conn->bind_transceiver_resp(seq => $pdu->{seq}, status => $ok ? 0 : 0x0E, system_id => 'perl-smsc');
    } elsif ($cmd == Net::SMPP::CMD_enquire_link) {
        emit(event => 'enquire_link');
        $conn->enquire_link_resp(seq => $pdu->{seq});
    } elsif ($cmd == Net::SMPP::CMD_unbind) {
        emit(event => 'unbind');
        $conn->unbind_resp(seq => $pdu->{seq});
    } elsif ($cmd == Net::SMPP::CMD_submit_sm) {
        submit($conn, $pdu);
    } elsif ($cmd == Net::SMPP::CMD_deliver_sm_resp || $cmd == Net::SMPP::CMD_enquire_link_resp) {
        emit(event => 'resp', cmd => $cmd, status => $pdu->{status});
    } else {
        emit(event => 'unknown', cmd => $cmd);
        $conn->generic_nack(seq => $pdu->{seq}, status => 0x03) unless $cmd & 0x80000000;
    }
}

sub submit {
    my ($conn, $pdu) = @_;
    my $dest = $pdu->{destination_addr};
    my $st = $status{$dest} // 0;
    my $id = $st ? '' : sprintf('%s-%d', $id_prefix, ++$next_id);
    my $silent = grep { $_ eq $dest } @silent;
    emit(event => 'submit_sm', seq => $pdu->{seq},
         source_addr => $pdu->{source_addr}, source_addr_ton => $pdu->{source_addr_ton}, source_addr_npi => $pdu->{source_addr_npi},
         destination_addr => $dest, dest_addr_ton => $pdu->{dest_addr_ton}, dest_addr_npi => $pdu->{dest_addr_npi},
         esm_class => $pdu->{esm_class}, data_coding => $pdu->{data_coding},
         registered_delivery => $pdu->{registered_delivery},
         short_message_hex => unpack('H*', $pdu->{short_message}),
         status => $st, message_id => $id);
    return if $silent;
    $conn->submit_sm_resp(seq => $pdu->{seq}, status => $st, message_id => $id);
    return if $st || !$receipts || !($pdu->{registered_delivery} & 1);
    my ($stat, $err) = split /:/, ($receipt_stat{$dest} // 'DELIVRD:000');
    $err //= '000';
    # async: the answer arrives in the main loop, not here.
    $conn->deliver_sm(
        async            => 1,
        source_addr_ton  => $pdu->{dest_addr_ton},
        source_addr_npi  => $pdu->{dest_addr_npi},
        source_addr      => $dest,
        dest_addr_ton    => $pdu->{source_addr_ton},
        dest_addr_npi    => $pdu->{source_addr_npi},
        destination_addr => $pdu->{source_addr},
        esm_class        => 0x04,
        data_coding      => 0,
        short_message    => "id:$id sub:001 dlvrd:001 submit date:2601010000 done date:2601010001 stat:$stat err:$err text:",
        receipted_message_id => "$id\0",
        message_state        => pack('C', $message_state{$stat} // 7),
    );
    emit(event => 'receipt_sent', message_id => $id, stat => $stat);
}
