// Protobuf file I/O with errors that name the file, line and column.
#include "cortado/io.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/io/zero_copy_stream_impl.h>
#include <google/protobuf/text_format.h>

#include "cortado/common.hpp"
#include "cortado/upgrade.hpp"

namespace cortado {
namespace {

// Collects the first parse error as "origin:line:column: reason".
class FirstErrorCollector : public google::protobuf::io::ErrorCollector {
 public:
  explicit FirstErrorCollector(std::string origin) : origin_(std::move(origin)) {}
  void AddError(int line, int column, const std::string& message) override {
    if (first_.empty()) {
      // The parser counts from zero; editors count from one.
      first_ = StrCat(origin_, ":", line + 1, ":", column + 1, ": ", message);
    }
  }
  void AddWarning(int line, int column, const std::string& message) override {
    LOG(WARNING) << origin_ << ":" << line + 1 << ":" << column + 1 << ": " << message;
  }
  const std::string& first() const { return first_; }

 private:
  std::string origin_;
  std::string first_;
};

// A directory opens and reads as an empty file on Linux; say what it is.
void RejectDirectory(const std::string& path, const std::string& expected) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    ThrowError("'", path, "' is a directory, not a ", expected, " file");
  }
}

std::string ReadWholeFile(const std::string& path, const std::string& expected) {
  RejectDirectory(path, expected);
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    ThrowError("cannot open ", expected, " file '", path, "': ", std::strerror(errno));
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) ThrowError("cannot read ", expected, " file '", path, "'");
  return buffer.str();
}

const char* Describe(const google::protobuf::Message& proto) {
  const std::string& name = proto.GetDescriptor()->name();
  if (name == "NetParameter") return "net";
  if (name == "SolverParameter") return "solver";
  if (name == "SolverState") return "solver state";
  if (name == "BlobProto") return "blob";
  return "protobuf";
}

}  // namespace

void ReadProtoFromTextString(const std::string& text, const std::string& origin,
                             google::protobuf::Message* proto) {
  FirstErrorCollector errors(origin);
  google::protobuf::TextFormat::Parser parser;
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(text, proto)) {
    ThrowError("malformed ", Describe(*proto), " prototxt: ",
               errors.first().empty() ? origin + ": parse failed" : errors.first());
  }
}

void ReadProtoFromTextFile(const std::string& path, google::protobuf::Message* proto) {
  const std::string what = StrCat(Describe(*proto), " prototxt");
  ReadProtoFromTextString(ReadWholeFile(path, what), path, proto);
  // An empty or comment-only file parses as a message with nothing set,
  // which would otherwise run as an empty net.
  if (proto->ByteSizeLong() == 0) {
    ThrowError("'", path, "' is not a ", what, ": it sets no fields (empty or only comments)");
  }
}

void ReadProtoFromBinaryFile(const std::string& path, google::protobuf::Message* proto) {
  RejectDirectory(path, StrCat("binary ", Describe(*proto)));
  int fd = open(path.c_str(), O_RDONLY);
  if (fd < 0) {
    ThrowError("cannot open ", Describe(*proto), " file '", path, "': ", std::strerror(errno));
  }
  google::protobuf::io::FileInputStream raw(fd);
  raw.SetCloseOnDelete(true);
  google::protobuf::io::CodedInputStream coded(&raw);
  coded.SetTotalBytesLimit(INT_MAX);  // caffemodels exceed the 64 MB default
  if (!proto->ParseFromCodedStream(&coded) || !coded.ConsumedEntireMessage()) {
    ThrowError("'", path, "' is not a valid binary ", Describe(*proto),
               " file (corrupt or truncated protobuf)");
  }
  if (proto->ByteSizeLong() == 0) {
    ThrowError("'", path, "' is not a binary ", Describe(*proto), " file: it is empty");
  }
}

void WriteFileAtomically(const std::string& path, const std::string& bytes) {
  const std::string temp = path + ".tmp";
  int fd = open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) ThrowError("cannot create '", temp, "': ", std::strerror(errno));
  size_t written = 0;
  while (written < bytes.size()) {
    ssize_t n = write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      int saved = errno;
      close(fd);
      unlink(temp.c_str());
      ThrowError("cannot write '", temp, "': ", std::strerror(saved));
    }
    written += static_cast<size_t>(n);
  }
  if (close(fd) != 0) {
    int saved = errno;
    unlink(temp.c_str());
    ThrowError("cannot write '", temp, "': ", std::strerror(saved));
  }
  CommitFileAtomically(temp, path);
}

void CommitFileAtomically(const std::string& temp, const std::string& path) {
  int fd = open(temp.c_str(), O_RDONLY);
  if (fd < 0 || fsync(fd) != 0) {
    int saved = errno;
    if (fd >= 0) close(fd);
    unlink(temp.c_str());
    ThrowError("cannot flush '", temp, "': ", std::strerror(saved));
  }
  close(fd);
  if (rename(temp.c_str(), path.c_str()) != 0) {
    int saved = errno;
    unlink(temp.c_str());
    ThrowError("cannot rename '", temp, "' to '", path, "': ", std::strerror(saved));
  }
  // The rename itself is durable only once the directory entry is on disk.
  const size_t slash = path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash + 1);
  int dir_fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (dir_fd >= 0) {
    fsync(dir_fd);
    close(dir_fd);
  }
}

void WriteProtoToTextFile(const google::protobuf::Message& proto, const std::string& path) {
  std::string text;
  if (!google::protobuf::TextFormat::PrintToString(proto, &text)) {
    ThrowError("cannot format ", Describe(proto), " as text for '", path, "'");
  }
  WriteFileAtomically(path, text);
}

void WriteProtoToBinaryFile(const google::protobuf::Message& proto, const std::string& path) {
  std::string bytes;
  if (!proto.SerializeToString(&bytes)) {
    ThrowError("cannot serialise ", Describe(proto), " for '", path, "'");
  }
  WriteFileAtomically(path, bytes);
}

void ReadNetParamsFromTextFile(const std::string& path, caffe::NetParameter* param) {
  ReadProtoFromTextFile(path, param);
  UpgradeNetAsNeeded(path, param);
}

void ReadNetParamsFromBinaryFile(const std::string& path, caffe::NetParameter* param) {
  ReadProtoFromBinaryFile(path, param);
  UpgradeNetAsNeeded(path, param);
}

void ReadSolverParamsFromTextFile(const std::string& path, caffe::SolverParameter* param) {
  ReadProtoFromTextFile(path, param);
  UpgradeSolverAsNeeded(path, param);
  // As in Caffe: snapshots default to the solver file's path without its
  // extension, and a prefix naming a directory gets the file's stem inside it.
  const std::filesystem::path file(path);
  if (!param->has_snapshot_prefix()) {
    param->set_snapshot_prefix(std::filesystem::path(file).replace_extension().string());
    LOG(INFO) << path << ": snapshot_prefix not set; using " << param->snapshot_prefix();
  } else if (!param->snapshot_prefix().empty() &&
             std::filesystem::is_directory(param->snapshot_prefix())) {
    param->set_snapshot_prefix(
        (std::filesystem::path(param->snapshot_prefix()) / file.stem()).string());
  }
}

bool FileExists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

}  // namespace cortado
